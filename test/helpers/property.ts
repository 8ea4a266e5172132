/**
 * Property-based tests, bounded: every property runs a fixed number of cases from a fixed
 * seed, so the suite stays fast and a run is deterministic. On failure fast-check prints
 * the seed and the path to the shrunk counterexample (`{ seed: …, path: "…" }`), which
 * replays it; BASTION_PROPERTY_SEED=<n> explores another seed.
 */
import assert from 'node:assert/strict';

export const PROPERTY_SEED = Number(process.env['BASTION_PROPERTY_SEED'] ?? 20261128);

/** fast-check parameters: `numRuns` cases from the fixed seed. */
export function runs(numRuns: number): { numRuns: number; seed: number } {
  return { numRuns, seed: PROPERTY_SEED };
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * A compact JWS with one character replaced by another base64url character (or a dot).
 * Half the draws take the last character of a segment, where base64url has spare bits:
 * another character there can decode to the same bytes.
 */
export function changeOneCharacter(token: string, at: number, by: number): string {
  const ends = [...token.matchAll(/[^.](?=\.|$)/g)].map((m) => m.index);
  const i = at % 2 === 0 ? (ends[(at >> 1) % ends.length] ?? 0) : at % token.length;
  const others = `${BASE64URL}.`.replace(token[i] ?? '', '');
  return token.slice(0, i) + (others[by % others.length] ?? '') + token.slice(i + 1);
}

/**
 * What `compute` returns, or undefined when it refuses with an error of class `refusal`;
 * any other error fails the test.
 */
export function unlessRefused<T>(
  compute: () => T,
  refusal: abstract new (...args: never[]) => Error,
): T | undefined {
  try {
    return compute();
  } catch (err) {
    assert.ok(err instanceof refusal, String(err));
    return undefined;
  }
}
