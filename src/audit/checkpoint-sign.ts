/**
 * A signed checkpoint of the audit chain: the head `{seq, hash}` at `ts`, as a compact JWS
 * under the broker key, and the sink line that carries it. Kept apart from the log so the
 * checker (`checkpoint-check.ts`) and the writer share one definition of the token.
 */
import { SignJWT } from 'jose';
import type { AcSigner } from '../base/signer.js';
import type { AuditCheckpoint } from '../store/store.js';

/** The JWS `typ` of a signed checkpoint. */
export const CHECKPOINT_TYP = 'audit-checkpoint+jwt';

/** A line on the sink after a checkpoint: `{"checkpoint": {seq, hash, ts, jws}}`. */
export interface CheckpointLine {
  readonly checkpoint: AuditCheckpoint;
}

/** Signs the head as of `ts` with `signer`. */
export async function signCheckpoint(
  head: { readonly seq: number; readonly hash: string },
  ts: string,
  signer: AcSigner,
): Promise<AuditCheckpoint> {
  const jws = await new SignJWT({ seq: head.seq, hash: head.hash, ts })
    .setProtectedHeader({ alg: 'EdDSA', typ: CHECKPOINT_TYP, kid: signer.kid })
    .sign(signer.privateKey);
  return { seq: head.seq, hash: head.hash, ts, jws };
}
