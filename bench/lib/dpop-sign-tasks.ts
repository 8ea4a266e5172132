/**
 * The DPoP proof per HTTP request (#17): for a DPoP-bound token the HTTP connector signs a
 * fresh proof for every request it sends (src/transports/http/dpop.ts). These tinybench
 * tasks time that very hook, `dpopSigner(credential)(request)`, over a credential made as
 * the oauth_exchange backend makes one (a fresh key from `newDpopKey`, the token in a
 * Secret), against a raw Ed25519 `crypto.sign` of the same proof's signing input with a
 * ready KeyObject. Two tasks say where the difference goes: rebuilding the KeyObject from
 * the seed (done per proof, so that the key lives only in a Secret between requests), and
 * the same JWT signed synchronously with node:crypto (bench/lib/dpop.ts) instead of jose.
 */
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { Secret } from '../../src/credentials/secret.js';
import { disposeCredential, type OAuthCredential } from '../../src/credentials/types.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { newDpopKey } from '../../src/governance/dpop-key.js';
import { PKCS8_ED25519_PREFIX } from '../../src/ssh/ed25519.js';
import { dpopSigner } from '../../src/transports/http/dpop.js';
import type { SignableRequest } from '../../src/transports/http/sign.js';
import { ProofSigner } from './dpop.js';
import type { Task } from './measure.js';

/** About the size of an ES256 `at+jwt` from oidc-provider with `cnf` (the e2e phase's). */
const TOKEN_CHARS = 640;

const REQUEST: SignableRequest = {
  method: 'GET',
  scheme: 'http',
  hostname: '127.0.0.1',
  port: 8080,
  host: '127.0.0.1:8080',
  requestPath: '/things?page=2',
  headers: {},
  body: undefined,
};

export interface DpopSignTasks {
  readonly tasks: Record<string, Task>;
  /** Bytes of a proof's signing input (header.payload), what the baseline signs. */
  readonly proofBytes: number;
  close(): void;
}

export async function dpopSignTasks(): Promise<DpopSignTasks> {
  const now = Date.now();
  const credential: OAuthCredential = {
    type: 'oauth',
    target: `${REQUEST.scheme}://${REQUEST.host}`,
    accessToken: Secret.fromString(
      randomBytes(TOKEN_CHARS).toString('base64url').slice(0, TOKEN_CHARS),
    ),
    tokenType: 'DPoP',
    dpop: newDpopKey(),
    scope: ['read'],
    notBefore: new Date(now - 1000),
    expiresAt: new Date(now + 3_600_000),
    scopedTo: 'read at the bench API',
    issuedBy: 'bench',
    id: 'bench-dpop',
  };
  const signer = dpopSigner(credential);
  if (signer === undefined) throw new Error('no DPoP signer for a DPoP credential');
  const headers = await signer(REQUEST);
  const proof = headers['dpop'] ?? '';
  const input = Buffer.from(proof.slice(0, proof.lastIndexOf('.')));
  // The baseline's key: the same kind, made once, as a process holding it would keep it.
  const ready = generatePrincipalKey();
  const sync = new ProofSigner(ready);
  const url = `${REQUEST.scheme}://${REQUEST.host}${REQUEST.requestPath}`;
  const token = credential.accessToken.use((b) => b.toString('utf8'));
  const seed = credential.dpop;
  if (seed === undefined) throw new Error('unreachable');
  return {
    proofBytes: input.byteLength,
    tasks: {
      'raw.sign.proof': () => sign(null, input, ready.privateKey),
      'dpop.sign.request': () => signer(REQUEST),
      'dpop.sign.keyFromSeed': () =>
        seed.seed.use((bytes) => {
          const der = Buffer.concat([PKCS8_ED25519_PREFIX, bytes]);
          createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
          der.fill(0);
        }),
      'dpop.sign.nodeCrypto': () => sync.proof(REQUEST.method, url, token),
    },
    close: () => disposeCredential(credential),
  };
}
