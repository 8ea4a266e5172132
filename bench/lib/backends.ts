/**
 * What B4 and B6 measure against: a credential backend with a fixed latency, a connector
 * whose transport does nothing, and a dwell-time recorder.
 *
 * Dwell time (B6) is measured from the moment a credential exists in broker memory to the
 * moment its secret bytes are zero-filled: the recorder notes `performance.now()` when the
 * backend hands the credential over, and wraps that credential's `Secret.dispose` (the one
 * call that zero-fills it, made by `CredentialResolver.discard` after revoking) to note
 * the second time. Nothing in src/ is changed for this; the wrapper lives on the instance.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CredentialBackend } from '../../src/credentials/backend.js';
import { Secret } from '../../src/credentials/secret.js';
import {
  type Credential,
  type CredentialOf,
  type CredentialType,
  secretsOf,
} from '../../src/credentials/types.js';
import type { Connector } from '../../src/connectors/connector.js';
import {
  ARGV_ONLY,
  execAuditDetail,
  parseCommandOperation,
  policyCommandLine,
} from '../../src/connectors/command/operation.js';
import type { CommandOperation, ExecResult } from '../../src/transports/types.js';

export class DwellRecorder {
  /** Creation → zero-fill, in ms, one per credential that was disposed. */
  readonly samples: number[] = [];
  #live = 0;

  /** Credentials issued and not yet zero-filled (should return to 0 after each phase). */
  get live(): number {
    return this.#live;
  }

  /** Starts the clock on `credential` and stops it when its secret is zero-filled. */
  track(credential: Credential): void {
    const born = performance.now();
    this.#live += 1;
    for (const secret of secretsOf(credential)) {
      if (secret === undefined) continue;
      const dispose = secret.dispose.bind(secret);
      let done = false;
      secret.dispose = () => {
        if (!done) {
          done = true;
          this.samples.push(performance.now() - born);
          this.#live -= 1;
        }
        dispose();
      };
      // One clock per credential: every credential type here holds a single secret.
      break;
    }
  }

  clear(): void {
    this.samples.length = 0;
  }
}

/**
 * A backend that answers every `resolve` after exactly `latencyMs` of timer wait (standing
 * in for an issuer's network round trip) with a 32-byte OAuth token; `revoke` is immediate.
 */
export function fixedLatencyBackend(options: {
  id: string;
  latencyMs: number;
  ttlMs?: number;
  dwell?: DwellRecorder;
}): CredentialBackend {
  const ttlMs = options.ttlMs ?? 120_000;
  return {
    id: options.id,
    supportedTypes: ['oauth'],
    async resolve<T extends CredentialType>(type: T, target: string): Promise<CredentialOf<T>> {
      if (type !== 'oauth') throw new Error('the fixed-latency backend issues oauth only');
      await sleep(options.latencyMs);
      const now = Date.now();
      const token = randomBytes(32);
      const credential: Credential = {
        type: 'oauth',
        target,
        accessToken: Secret.adopt(token),
        tokenType: 'Bearer',
        scope: ['exec'],
        notBefore: new Date(now - 1000),
        expiresAt: new Date(now + ttlMs),
        scopedTo: `exec at ${target}`,
        issuedBy: options.id,
        id: randomBytes(8).toString('hex'),
      };
      options.dwell?.track(credential);
      return credential as CredentialOf<T>;
    },
    revoke: () => Promise.resolve(),
  };
}

/**
 * `inner` under another id, recording each credential's dwell time; with `boundOnly`, only
 * of credentials asked for with a binding (B5 also runs the bench-only unbound connector).
 */
export function dwellWrap(
  inner: CredentialBackend,
  id: string,
  dwell: DwellRecorder,
  options: { boundOnly?: boolean } = {},
): CredentialBackend {
  return {
    id,
    supportedTypes: inner.supportedTypes,
    async resolve(type, target, ac, signal, binding) {
      const issued = await inner.resolve(type, target, ac, signal, binding);
      // The resolver checks issuedBy against the backend it asked: answer as this one.
      const credential = { ...issued, issuedBy: id } as Credential;
      if (options.boundOnly !== true || binding !== undefined) dwell.track(credential);
      return credential as never;
    },
    revoke: (credential) => inner.revoke({ ...credential, issuedBy: inner.id }),
  };
}

/**
 * A command connector whose transport does nothing: it parses and checks the operation
 * exactly as the SSH connector does (argv, `exec` capability, command policy) and touches
 * the credential's bytes once, then returns an empty successful result at once.
 */
export function noopConnector(name = 'noop'): Connector<CommandOperation, ExecResult> {
  return {
    name,
    credentialType: 'oauth',
    operation: ARGV_ONLY,
    parseOperation: (raw) => parseCommandOperation(raw, { allowCommand: false }),
    requiredCapabilities: () => ['exec'],
    commandLine: (op, ac) => policyCommandLine(op, ac),
    run: ({ credential }) => {
      for (const secret of secretsOf(credential)) secret?.use((bytes) => bytes.byteLength);
      return Promise.resolve({
        exit_code: 0,
        stdout: '',
        stderr: '',
        stdout_truncated: false,
        stderr_truncated: false,
        timed_out: false,
        duration_ms: 0,
      });
    },
    auditDetail: (result) => execAuditDetail(result),
  };
}
