/**
 * SessionConnector.invoke — the seed's lifecycle, shared by every connector (DESIGN steps
 * 3–7): verify the AC and the DPoP proof bound to it → check connector, target, capability
 * bits and command policy → audit "start" (a failed write stops here: fail closed) →
 * resolve a short-lived credential → run the operation → in `finally`, revoke and zeroize
 * the credential → audit "end" with the outcome, duration, backend and the credential's
 * fingerprint (never the credential).
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent, Auditor } from '../base/audit-records.js';
import type { Clock } from '../base/clock.js';
import { credentialFingerprint, type CredentialFingerprint } from '../credentials/fingerprint.js';
import type { CredentialResolver } from '../credentials/resolver.js';
import type { Credential } from '../credentials/types.js';
import { BastionError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { acContextOf, type VerifiedAc } from '../governance/ac.js';
import { commandAllowed } from '../governance/accords.js';
import { AuthenticationError } from '../governance/auth-errors.js';
import { hasCapabilities } from '../governance/capabilities.js';
import { verifyDpopProof } from '../governance/dpop.js';
import { canonicalTarget } from '../governance/targets.js';
import type { ExecLimits } from '../transports/types.js';
import type { Connector, ConnectorResult } from './connector.js';
import { InvocationDeniedError, UnknownConnectorError } from './errors.js';

export interface InvokeRequest {
  readonly connector: string;
  /** The `Authorization` header: `DPoP <AC>`. */
  readonly authorization: string | undefined;
  /** The `DPoP` header. */
  readonly dpop: string | string[] | undefined;
  readonly method: string;
  /** The URL the request was sent to, as the broker is reached. */
  readonly url: string;
  readonly body: { readonly target: string; readonly operation: unknown };
  readonly signal?: AbortSignal | undefined;
}

export interface InvokeResponse<R extends ConnectorResult = ConnectorResult> {
  invocation_id: string;
  ac_id: string;
  connector: string;
  target: string;
  result: R;
  credential: {
    type: string;
    issued_by: string;
    id?: string | undefined;
    fingerprint: string;
    expires_at: string;
    must_revoke: boolean;
  };
}

export interface SessionDeps {
  /** Verifies an AC: signature, claims, revocation (GovernanceService.verify). */
  verifyAc: (token: string) => Promise<VerifiedAc>;
  rememberProof: (jkt: string, jti: string, expiresAt: number) => Promise<boolean>;
  /** Counts a request against the principal's rate limit; throws when over it. */
  rateLimit: (did: string) => void;
  resolver: CredentialResolver;
  audit: Auditor;
  connectors: ReadonlyMap<string, Connector>;
  limits: ExecLimits;
  clock: Clock;
  skewMs: number;
  logger: Logger;
}

const DPOP_SCHEME = /^DPoP ([A-Za-z0-9_.-]+)$/i;

export class SessionConnector {
  constructor(private readonly deps: SessionDeps) {}

  async invoke(request: InvokeRequest): Promise<InvokeResponse> {
    const { deps } = this;
    const connector = deps.connectors.get(request.connector);
    if (connector === undefined) throw new UnknownConnectorError();

    // 1. Who: the AC, then the proof that the caller holds the key it is bound to.
    const token = DPOP_SCHEME.exec(request.authorization ?? '')?.[1];
    if (token === undefined) throw new AuthenticationError('ac_missing');
    const ac = await deps.verifyAc(token);
    const proof = await verifyDpopProof(request.dpop, {
      method: request.method,
      url: request.url,
      now: deps.clock.now(),
      skewMs: deps.skewMs,
      accessToken: token,
      expectedJkt: ac.claims.cnf.jkt,
      remember: deps.rememberProof,
    });
    deps.rateLimit(proof.did);

    // Every entry of a delegated AC's use carries the whole chain (human → agent).
    const chain = ac.claims.act;
    const withChain = (event: AuditEvent): AuditEvent =>
      chain === undefined ? event : { ...event, detail: { ...event.detail, act: chain } };
    const audit = (event: AuditEvent): Promise<unknown> => deps.audit.append(withChain(event));

    // 2. What: the operation must be inside the AC, checked before any credential exists.
    const acContext = acContextOf(ac.claims);
    const base = {
      actor: proof.did,
      principal: ac.claims.sub,
      ac_id: ac.claims.jti,
      connector: connector.name,
    } as const;
    let target: string;
    let operation: unknown;
    let command: string | undefined;
    let described: string | undefined;
    try {
      if (acContext.connector !== connector.name)
        throw new InvocationDeniedError('connector_mismatch');
      target = canonicalTarget(request.body.target);
      if (target !== acContext.target) throw new InvocationDeniedError('target_mismatch');
      operation = connector.parseOperation(request.body.operation);
      if (!hasCapabilities(acContext.capability_mask, connector.requiredCapabilities(operation))) {
        throw new InvocationDeniedError('capability_missing');
      }
      command = connector.commandLine(operation, acContext);
      described = command ?? connector.describe?.(operation);
      if (command !== undefined && !commandAllowed(acContext.commands, command)) {
        throw new InvocationDeniedError('command_not_allowed');
      }
      connector.checkPolicy?.(operation, acContext);
    } catch (err) {
      if (err instanceof InvocationDeniedError) {
        // Best effort: a refusal stands whether or not it could be recorded.
        await audit({
          ...base,
          type: 'deny',
          target: acContext.target,
          outcome: err.code,
          ...(described !== undefined ? { detail: { operation: described } } : {}),
        }).catch((auditErr: unknown) =>
          deps.logger.error({ err: auditErr }, 'audit write failed for a denial'),
        );
      }
      throw err;
    }

    // 3. Record the start; if that fails nothing else happens.
    const invocationId = randomUUID();
    const started = deps.clock.now();
    const ids = { ...base, target, invocation_id: invocationId };
    await audit({
      ...ids,
      type: 'invoke_start',
      ...(described !== undefined ? { detail: { operation: described } } : {}),
    });

    let credential: Credential | undefined;
    let fingerprint: CredentialFingerprint | undefined;
    let result: ConnectorResult | undefined;
    let outcome = 'ok';
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      credential = await deps.resolver.resolve(connector.credentialType, target, acContext, {
        signal: controller.signal,
      });
      fingerprint = credentialFingerprint(credential);
      await audit({
        ...ids,
        type: 'credential_issue',
        detail: {
          ...fingerprint,
          expires_at: credential.expiresAt.toISOString(),
          ...(credential.mustRevoke === true
            ? { must_revoke: true, issuer_expires_at: credential.issuerExpiresAt?.toISOString() }
            : {}),
        },
      });
      result = await connector.run({
        credential,
        target,
        operation,
        acContext,
        limits: deps.limits,
        signal: controller.signal,
      });
      if (result.timed_out) outcome = 'timed_out';
      return {
        invocation_id: invocationId,
        ac_id: ac.claims.jti,
        connector: connector.name,
        target,
        result,
        credential: {
          type: credential.type,
          issued_by: credential.issuedBy,
          id: credential.id,
          fingerprint: fingerprint.fingerprint,
          expires_at: credential.expiresAt.toISOString(),
          must_revoke: credential.mustRevoke === true,
        },
      };
    } catch (err) {
      outcome = err instanceof BastionError ? err.code : 'internal_error';
      throw err;
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      controller.abort();
      const closing: AuditEvent[] = [];
      if (credential !== undefined) {
        // Always: success, failure, timeout, a transport that threw. Never throws.
        await deps.resolver.discard(credential);
        closing.push({ ...ids, type: 'credential_discard', detail: { ...fingerprint } });
      }
      closing.push({
        ...ids,
        type: 'invoke_end',
        outcome,
        detail: {
          duration_ms: deps.clock.now() - started,
          ...(credential !== undefined
            ? {
                backend: credential.issuedBy,
                fingerprint: fingerprint?.fingerprint,
                credential_id: credential.id,
              }
            : {}),
          ...(result !== undefined ? connector.auditDetail(result) : {}),
        },
      });
      // One durable write for the discard and the end: they happen together.
      await this.#record(closing.map(withChain));
    }
  }

  /** After the operation ran, an audit failure cannot undo it: log it loudly instead. */
  async #record(events: AuditEvent[]): Promise<void> {
    const { audit } = this.deps;
    try {
      if (audit.appendBatch !== undefined) await audit.appendBatch(events);
      else for (const event of events) await audit.append(event);
    } catch (err) {
      this.deps.logger.error(
        { err, types: events.map((e) => e.type), invocation_id: events[0]?.invocation_id },
        'audit write failed after the operation',
      );
    }
  }
}
