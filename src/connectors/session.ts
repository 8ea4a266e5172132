/**
 * SessionConnector.invoke — the seed's lifecycle, shared by every connector (DESIGN steps
 * 3–7), for a caller the edge has authenticated (the AC verified, the DPoP proof bound to
 * it: governance/authenticate.ts) → check connector, target, capability bits and command
 * policy → audit "start" (a failed write stops here: fail closed) →
 * resolve a short-lived credential → run the operation → in `finally`, revoke and zeroize
 * the credential → audit "end" with the outcome, duration, backend and the credential's
 * fingerprint (never the credential).
 */
import { randomUUID } from 'node:crypto';
import type { AuditEvent, Auditor } from '../base/audit-records.js';
import type { Clock } from '../base/clock.js';
import { credentialFingerprint, type CredentialFingerprint } from '../credentials/fingerprint.js';
import type { CredentialResolver } from '../credentials/resolver.js';
import type { AcContext, Credential } from '../credentials/types.js';
import { BastionError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import { noTelemetry, type Telemetry } from '../base/telemetry.js';
import { acContextOf, type VerifiedAc } from '../governance/ac.js';
import { type Accord, commandAllowed } from '../governance/accords.js';
import { recheckAc } from '../governance/recheck.js';
import { hasCapabilities } from '../governance/capabilities.js';
import type { VerifiedProof } from '../governance/dpop.js';
import { canonicalTarget } from '../governance/targets.js';
import type { ExecLimits } from '../transports/types.js';
import type { Connector, ConnectorResult } from './connector.js';
import { InvocationDeniedError } from '../governance/denials.js';

/** One invocation, as the edge hands it over: authenticated, nothing of HTTP left. */
export interface Invocation {
  /** The authenticated caller: its proof was made with the key the AC is bound to. */
  readonly caller: VerifiedProof;
  /** The AC the caller acts under, verified (signature, claims, revocation). */
  readonly ac: VerifiedAc;
  readonly connector: Connector;
  /** The target as the caller wrote it; checked against the AC's in canonical form. */
  readonly target: string;
  /** The operation as sent; the connector reads it. */
  readonly operation: unknown;
  /** Aborts the run (the caller went away). */
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
  resolver: CredentialResolver;
  /** The accords in force now (reloaded with the configuration): every AC is re-checked. */
  accords: () => ReadonlyMap<string, Accord>;
  audit: Auditor;
  limits: ExecLimits;
  clock: Clock;
  logger: Logger;
  /** Metrics and spans of each step; none by default. */
  telemetry?: Telemetry;
}

export class SessionConnector {
  constructor(private readonly deps: SessionDeps) {}

  async invoke(request: Invocation): Promise<InvokeResponse> {
    const { deps } = this;
    const { connector, ac, caller } = request;
    const telemetry = deps.telemetry ?? noTelemetry;

    // Every entry of a delegated AC's use carries the whole chain (human → agent).
    const chain = ac.claims.act;
    const withChain = (event: AuditEvent): AuditEvent =>
      chain === undefined ? event : { ...event, detail: { ...event.detail, act: chain } };
    const audit = (event: AuditEvent): Promise<unknown> =>
      telemetry.span('audit_write', () => deps.audit.append(withChain(event)));

    // 2. What: the operation must be inside the AC, checked before any credential exists.
    const acContext = acContextOf(ac.claims);
    const base = {
      actor: caller.did,
      principal: ac.claims.sub,
      ac_id: ac.claims.jti,
      connector: connector.name,
    } as const;
    let target: string;
    let accord: Accord;
    let operation: unknown;
    let command: string | undefined;
    let described: string | undefined;
    try {
      if (acContext.connector !== connector.name)
        throw new InvocationDeniedError('connector_mismatch');
      target = canonicalTarget(request.target);
      if (target !== acContext.target) throw new InvocationDeniedError('target_mismatch');
      // The accord as it is now must still allow this AC (it may have changed since).
      accord = recheckAc(deps.accords(), acContext);
      operation = connector.parseOperation(request.operation);
      if (!hasCapabilities(acContext.capability_mask, connector.requiredCapabilities(operation))) {
        throw new InvocationDeniedError('capability_missing');
      }
      // The command and path policy the AC was issued with, and the accord's current one:
      // both must allow the operation (a loosened accord does not widen an approved AC).
      const { commands: _issued, paths: _issuedPaths, ...rest } = acContext;
      const current: AcContext = {
        ...rest,
        ...(accord.commands !== undefined ? { commands: accord.commands } : {}),
        ...(accord.paths !== undefined ? { paths: accord.paths } : {}),
      };
      for (const policy of [acContext, current]) {
        command = connector.commandLine(operation, policy);
        described = command ?? connector.describe?.(operation);
        if (command !== undefined && !commandAllowed(policy.commands, command)) {
          throw new InvocationDeniedError('command_not_allowed');
        }
        connector.checkPolicy?.(operation, policy);
      }
    } catch (err) {
      const denied = err instanceof InvocationDeniedError;
      telemetry.invocation(connector.name, denied ? 'denied' : 'failed');
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
    }).catch((err: unknown) => {
      telemetry.invocation(connector.name, 'failed'); // fail closed: nothing ran
      throw err;
    });

    let credential: Credential | undefined;
    let fingerprint: CredentialFingerprint | undefined;
    let result: ConnectorResult | undefined;
    let outcome = 'ok';
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const credentialType = connector.credentialTypeFor?.(target) ?? connector.credentialType;
      credential = await telemetry.span('resolve_credential', async (note) => {
        const issued = await deps.resolver.resolve(credentialType, target, acContext, {
          signal: controller.signal,
          binding: connector.credentialBinding?.(operation, target),
        });
        note({ backend: issued.issuedBy });
        return issued;
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
      const used = credential;
      result = await telemetry.span('run_operation', async (note) => {
        note({ connector: connector.name, fingerprint_prefix: fingerprint?.fingerprint });
        return connector.run({
          credential: used,
          target,
          operation,
          acContext,
          accord,
          limits: deps.limits,
          signal: controller.signal,
        });
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
        const discarded = credential;
        await telemetry.span('discard_credential', () => deps.resolver.discard(discarded));
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
      telemetry.invocation(
        connector.name,
        outcome === 'ok' || outcome === 'timed_out' ? outcome : 'failed',
      );
      // One durable write for the discard and the end: they happen together.
      await telemetry.span('audit_write', () => this.#record(closing.map(withChain)));
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
