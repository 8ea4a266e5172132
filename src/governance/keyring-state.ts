/**
 * The public keyring, wherever the keys live (files or the database): which key is active,
 * and every key's public half with when it was created and retired. Pure functions.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';

export interface KeyEntry {
  x: string;
  created_at: number;
  retired_at?: number;
}

export interface KeyringState {
  active: string;
  keys: Record<string, KeyEntry>;
}

/** `current` with `kid` added as the active key and the active one retired at `now`. */
export function withNewKey(
  current: KeyringState | undefined,
  kid: string,
  x: string,
  now: number,
): KeyringState {
  const keys: Record<string, KeyEntry> = { ...(current?.keys ?? {}) };
  const previous = current !== undefined ? keys[current.active] : undefined;
  if (current !== undefined && previous !== undefined)
    keys[current.active] = { ...previous, retired_at: now };
  keys[kid] = { x, created_at: now };
  return { active: kid, keys };
}

export function publicKeysOf(state: KeyringState): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const [kid, entry] of Object.entries(state.keys)) {
    keys.set(
      kid,
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: entry.x }, format: 'jwk' }),
    );
  }
  return keys;
}

/** Kids retired in `next` that were not retired in `before`. */
export function newlyRetired(before: KeyringState, next: KeyringState): string[] {
  return Object.entries(next.keys)
    .filter(([kid, e]) => e.retired_at !== undefined && before.keys[kid]?.retired_at === undefined)
    .map(([kid]) => kid);
}
