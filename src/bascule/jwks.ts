/**
 * The broker's public AC keys, as Bascule sees them: fetched from the broker's JWKS
 * (`GET <broker>/.well-known/jwks.json`), cached, and refreshed when they age or when a
 * grant names a kid the cache does not know (after a key rotation) — but at most once per
 * `minRefreshMs`, whatever the reason, so a flood of grants with made-up kids costs the
 * broker one request per interval, not one per grant.
 *
 * The JWKS is the root of trust of every command Bascule runs, so it is fetched only over
 * https (plain http only to a loopback address), without following redirects, within a
 * timeout and a size limit; only Ed25519 OKP public keys with a well-formed `kid` are kept
 * (a kid that appears twice is dropped, a key with private parts is ignored). When a
 * refresh fails the previous keys stay in use for at most `maxStaleMs`, then no grant
 * verifies until the broker answers again (`bascule_jwks_unavailable`, 503).
 */
import { deadline } from '../base/deadline.js';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { isLoopback } from '../base/loopback.js';
import { type Clock, systemClock } from '../base/clock.js';
import { BastionError, ConfigError } from '../base/errors.js';
import { type Logger, silentLogger } from '../base/logger.js';

export class JwksUnavailableError extends BastionError {
  constructor(options?: { cause?: unknown }) {
    super('bascule_jwks_unavailable', options);
  }
}

export interface JwksCacheOptions {
  /** The broker's JWKS URL (https, or http to a loopback address). */
  readonly url: string;
  /** Per fetch; default 5 s. */
  readonly timeoutMs?: number;
  /** Largest JWKS document accepted; default 64 KiB. */
  readonly maxBytes?: number;
  /** Least time between two fetches, whatever asks for them; default 10 s. */
  readonly minRefreshMs?: number;
  /** Keys older than this are refetched on the next use; default 5 min. */
  readonly maxAgeMs?: number;
  /** Keys older than this are dropped when refetching them fails; default 15 min. */
  readonly maxStaleMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** For tests; the global fetch by default. */
  readonly fetch?: typeof fetch;
}

const KID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const ED25519_X = /^[A-Za-z0-9_-]{43}$/;
const MAX_KEYS = 64;

/** The JWKS URL, checked: a configuration mistake is refused at start, not at first use. */
export function checkJwksUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('--jwks', 'must be an absolute http(s) URL');
  }
  if (url.username !== '' || url.password !== '')
    throw new ConfigError('--jwks', 'must not carry credentials');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return url;
  throw new ConfigError('--jwks', 'must be https (plain http only to a loopback address)');
}

/** The usable keys of a JWKS document; undefined when it is not one. */
export function parseJwks(doc: unknown): Map<string, KeyObject> | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const list = (doc as Record<string, unknown>)['keys'];
  if (!Array.isArray(list) || list.length > MAX_KEYS) return undefined;
  const keys = new Map<string, KeyObject>();
  const seen = new Set<string>();
  for (const item of list as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const jwk = item as Record<string, unknown>;
    const { kid, kty, crv, x, d, alg, use } = jwk;
    if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) continue;
    if (seen.has(kid)) {
      // Two keys under one kid: neither can be trusted to be the one meant.
      keys.delete(kid);
      continue;
    }
    seen.add(kid);
    if (kty !== 'OKP' || crv !== 'Ed25519' || typeof x !== 'string' || !ED25519_X.test(x)) continue;
    if (
      d !== undefined ||
      (alg !== undefined && alg !== 'EdDSA') ||
      (use !== undefined && use !== 'sig')
    )
      continue;
    try {
      const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
      if (key.asymmetricKeyType === 'ed25519') keys.set(kid, key);
    } catch {
      // Not a point on the curve: skipped like any other unusable entry.
    }
  }
  return keys;
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes) throw new Error('JWKS too large');
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const next = (await reader.read()) as { done: boolean; value?: Uint8Array };
    const value = next.value;
    if (next.done || value === undefined) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new Error('JWKS too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Caches the broker's JWKS; feeds `verifyAc`'s `keys`. */
export class JwksCache {
  readonly url: URL;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #minRefreshMs: number;
  readonly #maxAgeMs: number;
  readonly #maxStaleMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #fetch: typeof fetch;
  #keys: ReadonlyMap<string, KeyObject> | undefined;
  #fetchedAt = 0;
  #lastAttempt: number | undefined;
  #inflight: Promise<ReadonlyMap<string, KeyObject> | undefined> | undefined;
  #fetches = 0;

  constructor(options: JwksCacheOptions) {
    this.url = checkJwksUrl(options.url);
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024;
    this.#minRefreshMs = options.minRefreshMs ?? 10_000;
    this.#maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
    this.#maxStaleMs = Math.max(options.maxStaleMs ?? 15 * 60_000, this.#maxAgeMs);
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#fetch = options.fetch ?? fetch;
  }

  /** How many fetches were started (successful or not). */
  get fetchCount(): number {
    return this.#fetches;
  }

  /**
   * The current keys: fetched on first use and when they are older than `maxAgeMs` (within
   * the refresh limit). Throws JwksUnavailableError when there are no usable keys at all.
   */
  async keys(): Promise<ReadonlyMap<string, KeyObject>> {
    const now = this.#clock.now();
    if (this.#keys === undefined || now - this.#fetchedAt >= this.#maxAgeMs) {
      await this.#refreshIfAllowed(now);
    }
    return this.#current();
  }

  /**
   * The keys, refreshed first when `kid` is not among them (a rotated broker key) and the
   * refresh limit allows. `kid` is only a hint read from an unverified header: the result
   * is the whole key map, and verifyAc still decides.
   */
  async keysForKid(kid: string): Promise<ReadonlyMap<string, KeyObject>> {
    const keys = await this.keys();
    if (keys.has(kid) || !KID_PATTERN.test(kid)) return keys;
    await this.#refreshIfAllowed(this.#clock.now());
    return this.#current();
  }

  /** Fetches now unless a fetch is running or the refresh limit forbids one. */
  async refresh(): Promise<ReadonlyMap<string, KeyObject>> {
    await this.#refreshIfAllowed(this.#clock.now());
    return this.#current();
  }

  #current(): ReadonlyMap<string, KeyObject> {
    if (this.#keys !== undefined && this.#clock.now() - this.#fetchedAt > this.#maxStaleMs) {
      this.#logger.warn({ url: this.url.href }, 'jwks keys too stale; dropped');
      this.#keys = undefined;
    }
    if (this.#keys === undefined) throw new JwksUnavailableError();
    return this.#keys;
  }

  async #refreshIfAllowed(now: number): Promise<void> {
    if (this.#inflight !== undefined) {
      await this.#inflight;
      return;
    }
    if (this.#lastAttempt !== undefined && now - this.#lastAttempt < this.#minRefreshMs) return;
    this.#lastAttempt = now;
    this.#inflight = this.#fetchKeys().finally(() => {
      this.#inflight = undefined;
    });
    await this.#inflight;
  }

  /** One fetch; never throws: a failure is logged and leaves the previous keys in place. */
  async #fetchKeys(): Promise<ReadonlyMap<string, KeyObject> | undefined> {
    this.#fetches += 1;
    const limit = deadline(this.#timeoutMs);
    try {
      const response = await this.#fetch(this.url, {
        redirect: 'error',
        headers: { accept: 'application/json' },
        signal: limit.signal,
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error('JWKS status');
      }
      const keys = parseJwks(JSON.parse(await readBounded(response, this.#maxBytes)) as unknown);
      if (keys === undefined) throw new Error('not a JWKS');
      this.#keys = keys;
      this.#fetchedAt = this.#clock.now();
      this.#logger.info({ url: this.url.href, kids: [...keys.keys()] }, 'jwks fetched');
      return keys;
    } catch {
      // The cause can quote the peer; the log names the URL only.
      this.#logger.warn({ url: this.url.href }, 'jwks fetch failed');
      return undefined;
    } finally {
      limit.clear();
    }
  }
}
