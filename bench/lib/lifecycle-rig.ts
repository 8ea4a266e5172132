/**
 * B4's invocation, built from a running broker's own pieces: `SessionConnector.invoke` with
 * the edge's authentication (the DPoP proof checked against the durable replay cache, the
 * AC verified), a `CredentialResolver` whose only backend answers after a fixed latency and
 * a connector whose transport does nothing; and the backend alone, called as the resolver
 * calls it (B4's baseline). Shared by the SQLite and the PostgreSQL lifecycle children.
 */
import { systemClock } from '../../src/base/clock.js';
import { SessionConnector } from '../../src/connectors/session.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { disposeCredential, type AcContext } from '../../src/credentials/types.js';
import { acContextOf } from '../../src/governance/ac.js';
import { Authenticator } from '../../src/governance/authenticate.js';
import { thumbprint, type PrincipalKey } from '../../src/governance/did-key.js';
import type { RunningServer } from '../../src/server/app.js';
import { RateLimiter } from '../../src/server/rate-limit.js';
import { DwellRecorder, fixedLatencyBackend, noopConnector } from './backends.js';
import { authorizeBody, BENCH_TARGET } from './broker.js';
import { ProofSigner } from './dpop.js';

export const BACKEND_LATENCY_MS = 2;

export interface LifecycleRig {
  readonly dwell: DwellRecorder;
  /** A fresh DPoP proof for one invocation (the client's work: sign it before timing). */
  readonly proof: () => string;
  /** One governed invocation with `proof`. */
  readonly invoke: (proof: string) => Promise<unknown>;
  /** The fixed-latency backend alone: resolve, revoke, dispose. */
  readonly backendCall: () => Promise<void>;
}

export async function lifecycleRig(
  server: RunningServer,
  principal: PrincipalKey,
): Promise<LifecycleRig> {
  const signer = new ProofSigner(principal);
  const jkt = await thumbprint(principal.publicJwk);
  const issued = await server.service.authorize(
    { did: principal.did, jkt, jwk: principal.publicJwk, jti: 'bench-caller' },
    authorizeBody('noop'),
  );
  if (issued.status !== 'active') throw new Error('bench accord did not issue an AC');
  const token = issued.ac;

  const dwell = new DwellRecorder();
  const resolver = new CredentialResolver({ logger: server.app.log, skewMs: 30_000 });
  resolver.register(fixedLatencyBackend({ id: 'fixed', latencyMs: BACKEND_LATENCY_MS, dwell }));
  const limiter = new RateLimiter(1_000_000_000, systemClock);
  // The edge's authentication and the session, as the route runs them.
  const authenticator = new Authenticator({
    clock: systemClock,
    skewMs: 30_000,
    rememberProof: (k, jti, expiresAt) => server.store.rememberProof(k, jti, expiresAt),
    rateLimit: (did) => limiter.hit(did),
    verifyAc: (t) => server.service.verify(t),
    knowsKey: () => true,
  });
  const session = new SessionConnector({
    resolver,
    audit: server.audit,
    accords: () => server.service.settings.policy.accords,
    limits: { maxOutputBytes: 65_536, timeoutMs: 10_000 },
    clock: systemClock,
    logger: server.app.log,
  });
  const connector = noopConnector();
  const url = `${server.url}/connectors/noop/invoke`;

  const alone = fixedLatencyBackend({ id: 'fixed-alone', latencyMs: BACKEND_LATENCY_MS });
  const acContext: AcContext = acContextOf((await server.service.verify(token)).claims);
  return {
    dwell,
    proof: () => signer.proof('POST', url, token),
    invoke: async (proof) => {
      const { caller, ac } = await authenticator.acHolder({
        authorization: `DPoP ${token}`,
        dpop: proof,
        method: 'POST',
        url,
      });
      return session.invoke({
        caller,
        ac,
        connector,
        target: BENCH_TARGET,
        operation: { argv: ['true'] },
      });
    },
    backendCall: async () => {
      const credential = await alone.resolve('oauth', BENCH_TARGET, acContext);
      await alone.revoke(credential);
      disposeCredential(credential);
    },
  };
}
