/**
 * SessionConnector as the broker's invoke route drives it, without HTTP: a real AC signed
 * by a fresh broker key, a real DPoP proof bound to it, the edge's Authenticator, then
 * the session — for tests of the lifecycle with a test connector, resolver and audit.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { Auditor } from '../../src/base/audit-records.js';
import { systemClock } from '../../src/base/clock.js';
import { silentLogger } from '../../src/base/logger.js';
import type { Connector } from '../../src/connectors/connector.js';
import { SessionConnector, type InvokeResponse } from '../../src/connectors/session.js';
import type { CredentialResolver } from '../../src/credentials/resolver.js';
import type { AcContextClaim } from '../../src/governance/ac.js';
import type { Accord } from '../../src/governance/accords.js';
import type { Capability } from '../../src/governance/capabilities.js';
import { signAc, verifyAc } from '../../src/governance/ac.js';
import { Authenticator } from '../../src/governance/authenticate.js';
import { generatePrincipalKey, thumbprint } from '../../src/governance/did-key.js';
import { createDpopProof } from '../../src/governance/dpop.js';
import type { ExecLimits } from '../../src/transports/types.js';

const URL_ = 'http://127.0.0.1:1/connectors/test/invoke';

const copyPolicy = (p: {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}) => ({
  allow: [...p.allow],
  deny: [...p.deny],
});

export async function sessionHarness(o: {
  ctx: AcContextClaim;
  jti: string;
  connector: Connector;
  resolver: CredentialResolver;
  audit: Auditor;
  limits?: ExecLimits;
}): Promise<{ invoke(target: string, operation: unknown): Promise<InvokeResponse> }> {
  const broker = generateKeyPairSync('ed25519').privateKey;
  const alice = generatePrincipalKey();
  const now = Math.floor(Date.now() / 1000);
  const token = await signAc(
    {
      iss: 'iss',
      sub: alice.did,
      aud: 'aud',
      jti: o.jti,
      iat: now,
      nbf: now,
      exp: now + 600,
      cnf: { jkt: await thumbprint(alice.publicJwk) },
      ctx: { ...o.ctx, principal_did: alice.did },
    },
    { kid: 'k', privateKey: broker },
  );
  const seen = new Set<string>();
  const authenticator = new Authenticator({
    clock: systemClock,
    skewMs: 30_000,
    verifyAc: (t) =>
      verifyAc(t, {
        keys: new Map([['k', createPublicKey(broker)]]),
        issuer: 'iss',
        audience: 'aud',
        now: Date.now(),
        skewMs: 30_000,
        isRevoked: () => Promise.resolve(false),
      }),
    rememberProof: (jkt, jti) =>
      Promise.resolve(!seen.has(jkt + jti) && Boolean(seen.add(jkt + jti))),
    rateLimit: () => undefined,
    knowsKey: () => true,
  });
  // The accord the AC was issued under, as it stands: exactly what the AC says.
  const accord: Accord = {
    id: o.ctx.accord_template,
    principals: [alice.did],
    connectors: [o.ctx.connector],
    targets: [o.ctx.target],
    capabilities: o.ctx.capabilities as Capability[],
    max_duration_seconds: 600,
    approvals: { required: 0, approvers: [] },
    admins: [],
    ...(o.ctx.commands !== undefined ? { commands: copyPolicy(o.ctx.commands) } : {}),
    ...(o.ctx.paths !== undefined ? { paths: copyPolicy(o.ctx.paths) } : {}),
  };
  const session = new SessionConnector({
    resolver: o.resolver,
    audit: o.audit,
    accords: () => new Map([[accord.id, accord]]),
    limits: o.limits ?? { maxOutputBytes: 1000, timeoutMs: 1000 },
    clock: systemClock,
    logger: silentLogger,
  });
  return {
    async invoke(target, operation) {
      const { caller, ac } = await authenticator.acHolder({
        authorization: `DPoP ${token}`,
        dpop: await createDpopProof({
          privateKey: alice.privateKey,
          publicJwk: alice.publicJwk,
          method: 'POST',
          url: URL_,
          accessToken: token,
        }),
        method: 'POST',
        url: URL_,
      });
      return session.invoke({ caller, ac, connector: o.connector, target, operation });
    },
  };
}
