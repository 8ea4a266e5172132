/**
 * What a SIEM does to re-verify Bastion's audit from OCSF events alone: each event's
 * `unmapped.bastion.entry` must hash (SHA-256 of its RFC 8785 JCS text without `hash`) to
 * its `hash`, link to the previous entry's hash, and every checkpoint's JWS must verify
 * against the broker's JWKS and sign an entry hash seen. Written from the README's
 * description with jose, not with Bastion's own verifier.
 */
import { createHash } from 'node:crypto';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { canonicalJson } from '../../src/base/audit-chain.js';

type Bastion = {
  seq: number;
  hash: string;
  prev?: string;
  kid?: string;
  entry?: Record<string, unknown> & { seq: number; prev: string; hash: string };
  checkpoint?: { seq: number; hash: string; ts: string; jws: string };
};

export async function verifyOcsfTrail(
  events: readonly Record<string, unknown>[],
  jwks: JSONWebKeySet,
): Promise<{ entries: number; checkpoints: number }> {
  const keys = createLocalJWKSet(jwks);
  const hashes = new Map<number, string>();
  let prev: string | undefined;
  let checkpoints = 0;
  for (const event of events) {
    const b = (event['unmapped'] as { bastion: Bastion }).bastion;
    if (b.checkpoint !== undefined) {
      const cp = b.checkpoint;
      const { payload, protectedHeader } = await jwtVerify(cp.jws, keys, {
        algorithms: ['EdDSA'],
        typ: 'audit-checkpoint+jwt',
      });
      if (payload['seq'] !== cp.seq || payload['hash'] !== cp.hash || payload['ts'] !== cp.ts) {
        throw new Error(`checkpoint ${cp.seq}: payload differs`);
      }
      if (protectedHeader.kid !== b.kid) throw new Error(`checkpoint ${cp.seq}: kid differs`);
      if (hashes.get(cp.seq) !== cp.hash) throw new Error(`checkpoint ${cp.seq}: no such entry`);
      checkpoints += 1;
      continue;
    }
    const entry = b.entry;
    if (entry === undefined) throw new Error('an event without its entry');
    const body: Record<string, unknown> = { ...entry };
    delete body['hash'];
    const hash = createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');
    if (hash !== entry.hash || b.hash !== hash || b.seq !== entry.seq || b.prev !== entry.prev) {
      throw new Error(`entry ${entry.seq}: hash does not match`);
    }
    if (prev !== undefined && entry.prev !== prev)
      throw new Error(`entry ${entry.seq}: chain broken`);
    if (prev === undefined && entry.seq === 1 && entry.prev !== '0'.repeat(64)) {
      throw new Error('entry 1: not the genesis');
    }
    prev = hash;
    hashes.set(entry.seq, hash);
  }
  return { entries: hashes.size, checkpoints };
}
