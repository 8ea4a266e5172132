/**
 * What a connector is to the session lifecycle: which credential it needs, how it reads
 * and checks an operation, which capabilities and command line the operation means, and
 * how it runs it with a credential. Rules common to all connectors live in session.ts; how
 * a connector is configured and built, in plugin.ts.
 */
import type { CredentialBinding } from '../credentials/binding.js';
import type { AcContext, Credential, CredentialType } from '../credentials/types.js';
import type { Accord } from '../governance/accords.js';
import type { Capability } from '../governance/capabilities.js';
import type { ExecLimits } from '../transports/types.js';
import type { OperationSpec } from './operation.js';

export interface RunContext<Op> {
  readonly credential: Credential;
  /** Canonical target name, equal to the AC's. */
  readonly target: string;
  readonly operation: Op;
  readonly acContext: AcContext;
  /** The AC's accord as it is now: its path policy holds redirects too, beside the AC's own. */
  readonly accord?: Accord | undefined;
  readonly limits: ExecLimits;
  readonly signal: AbortSignal;
}

/** Every result says whether the operation hit its time limit; the rest is per connector. */
export interface ConnectorResult {
  readonly timed_out: boolean;
}

export interface Connector<Op = unknown, Result extends ConnectorResult = ConnectorResult> {
  /** Its name in accords, ACs and routes; for a registered kind, the kind. */
  readonly name: string;
  /** The credential it asks for (where `credentialTypeFor` does not say otherwise). */
  readonly credentialType: CredentialType;
  /** The credential for this target, when a connector takes different kinds per target. */
  credentialTypeFor?(target: string): CredentialType;
  /** The operation's schema, shared with its plugin: what the route and OpenAPI show. */
  readonly operation: OperationSpec;
  /**
   * Reads the request's `operation` (its schema, then what the schema cannot say); throws
   * InvalidArgumentError, or the connector's own refusal, before any credential exists.
   */
  parseOperation(raw: unknown): Op;
  requiredCapabilities(op: Op): readonly Capability[];
  /**
   * The command line the accord's command policy is checked against (and the audit
   * records), or undefined for operations that are not commands. May throw an
   * InvocationDeniedError when the operation cannot be checked safely under a policy.
   */
  commandLine(op: Op, acContext: AcContext): string | undefined;
  /** For the audit, when `commandLine` is undefined: what the operation is, e.g. `GET /status`. */
  describe?(op: Op): string;
  /**
   * What the credential for this operation must be bound to (an SSH certificate's forced
   * command, an AWS session's one request): every backend is asked for it; the resolver
   * refuses an SSH certificate without it.
   */
  credentialBinding?(op: Op, target: string): CredentialBinding | undefined;
  /** Connector-specific policy (e.g. the HTTP path rules); throws InvocationDeniedError. */
  checkPolicy?(op: Op, acContext: AcContext): void;
  run(ctx: RunContext<Op>): Promise<Result>;
  /** Metadata about a result for the audit's invoke_end (sizes, status): never content. */
  auditDetail(result: Result): Record<string, unknown>;
  /** Releases what the connector holds (pools, sockets); called once, at shutdown. */
  close?(): Promise<void>;
}
