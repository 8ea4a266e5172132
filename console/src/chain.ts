/**
 * The audit chain checked in the browser, as src/base/audit-chain.ts defines it: each
 * entry's hash is SHA-256 over the canonical JSON (sorted keys, no whitespace) of its other
 * fields, and each entry's `prev` is the hash of the entry before it. The console shows
 * how far the entries it loaded verify, rather than trusting the page of JSON it got.
 */
import type { AuditEntry } from './types.js';

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v ?? null)).join(',')}]`;
  const record = value as Record<string, unknown>;
  const parts = Object.keys(record)
    .sort()
    .filter((k) => record[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`);
  return `{${parts.join(',')}}`;
}

async function hashOf(entry: AuditEntry): Promise<string> {
  const body: Record<string, unknown> = { ...entry };
  delete body['hash'];
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical(body)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export interface ChainCheck {
  /** Per entry (same order): its hash recomputes, and it links to the entry before when adjacent. */
  readonly ok: boolean[];
  /** The last seq up to which every loaded entry verified; undefined when the first fails. */
  readonly verifiedTo: number | undefined;
}

/** Checks `entries` (ascending seq); links are checked only between consecutive seqs. */
export async function checkChain(entries: readonly AuditEntry[]): Promise<ChainCheck> {
  const ok: boolean[] = [];
  let verifiedTo: number | undefined;
  let broken = false;
  for (const [i, entry] of entries.entries()) {
    const before = entries[i - 1];
    const linked =
      before === undefined || before.seq + 1 !== entry.seq || entry.prev === before.hash;
    const good = linked && (await hashOf(entry)) === entry.hash;
    ok.push(good);
    broken ||= !good;
    if (!broken) verifiedTo = entry.seq;
  }
  return { ok, verifiedTo };
}
