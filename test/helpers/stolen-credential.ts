/**
 * A thief's tools for the stolen-credential tests (beside stolen-ssh.ts): a DPoP-bound token
 * presented to its API every way but with a fresh proof of its key — and, as the control,
 * with one — and a Kerberos service ticket with its session key presented to a GSS-API
 * acceptor, as a client holding the copied pair would. Shared by the per-type tests
 * (test/backends/) and the zero-credential proof's stolen-credential part.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { Secret } from '../../src/credentials/secret.js';
import type { DpopKey } from '../../src/credentials/types.js';
import { ed25519Thumbprint } from '../../src/governance/did-key.js';
import { newDpopKey, signDpopProof } from '../../src/governance/dpop-key.js';
import { initiateContext, type InitiatorInput } from '../../src/kerberos/gss/initiator.js';
import { PKCS8_ED25519_PREFIX, rawEd25519PublicKey } from '../../src/ssh/ed25519.js';
import { b64, type GssAcceptor } from './gss-acceptor.js';

/** The DPoP key of a copied Ed25519 seed (the copy stays the caller's). */
export function dpopKeyOf(seed: Buffer): DpopKey {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const x = rawEd25519PublicKey(createPublicKey(privateKey)).toString('base64url');
  return { seed: Secret.copyOf(seed), x, jkt: ed25519Thumbprint(x) };
}

export interface DpopAttempts {
  /** `Authorization: Bearer <token>`. */
  readonly bearer: number;
  /** `Authorization: DPoP <token>` with no proof. */
  readonly noProof: number;
  /** With a fresh proof signed by a key of the thief's own. */
  readonly otherKey: number;
  /** With the proof the broker sent (copied with the token). */
  readonly replayedProof: number;
  /** The control: a fresh proof of the bound key (when the test has it). */
  readonly boundKey?: number;
}

/**
 * The statuses `url` (a GET) answers a copied DPoP-bound `token` with, each way a thief
 * without the key could try — plus, last, the control with `boundKey`, when given.
 */
export async function dpopAttempts(
  url: string,
  token: string,
  capturedProof: string,
  boundKey?: DpopKey,
): Promise<DpopAttempts> {
  const status = async (headers: Record<string, string>) => (await fetch(url, { headers })).status;
  const held = Secret.fromString(token);
  const thief = newDpopKey();
  try {
    const dpop = `DPoP ${token}`;
    return {
      bearer: await status({ authorization: `Bearer ${token}` }),
      noProof: await status({ authorization: dpop }),
      otherKey: await status({
        authorization: dpop,
        dpop: await signDpopProof(thief, 'GET', url, held),
      }),
      replayedProof: await status({ authorization: dpop, dpop: capturedProof }),
      ...(boundKey === undefined
        ? {}
        : {
            boundKey: await status({
              authorization: dpop,
              dpop: await signDpopProof(boundKey, 'GET', url, held),
            }),
          }),
    };
  } finally {
    thief.seed.dispose();
    held.dispose();
  }
}

/** The acceptor's answer to an AP-REQ made from a ticket and its session key alone. */
export function presentTicket(
  input: InitiatorInput,
  acceptor: GssAcceptor,
): Promise<Record<string, string>> {
  const pending = initiateContext(input, 'Kerberos');
  try {
    return acceptor.call({ op: 'accept', scheme: 'Kerberos', token: b64(pending.token) });
  } finally {
    pending.dispose();
  }
}
