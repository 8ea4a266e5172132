/**
 * Emptying and auditing an MSAL client's in-memory token cache, for the zero-credential
 * rule: after each call every entry is deleted, and a token is only handed on when the
 * cache is seen to hold none.
 */
import type { ConfidentialClientApplication } from '@azure/msal-node';

const TOKEN_SECTIONS = ['Account', 'IdToken', 'AccessToken', 'RefreshToken'] as const;

/**
 * Deletes every entry of the client's token cache. `deserialize` cannot do it (it merges
 * into what is there); `getKVStore()` is the cache's own live key-value map, so deleting
 * its keys leaves the tokens unreachable. `tokensHeld` checks the result.
 */
export function emptyCache(client: ConfidentialClientApplication): void {
  try {
    const store = client.getTokenCache().getKVStore() as Record<string, unknown>;
    for (const key of Object.keys(store)) delete store[key];
  } catch {
    // tokensHeld() reports what is left, and the call fails closed on it.
  }
}

/**
 * How many accounts and tokens the client's cache holds, through both of MSAL's views:
 * the serialized cache and the key-value map (any entry with a `secret`). -1 when it
 * cannot be read, which callers treat as "not empty".
 */
export function tokensHeld(client: ConfidentialClientApplication): number {
  try {
    const cache = client.getTokenCache();
    const serialized = JSON.parse(cache.serialize()) as Record<string, unknown>;
    let n = 0;
    for (const section of TOKEN_SECTIONS) {
      const entries = serialized[section];
      if (typeof entries === 'object' && entries !== null) n += Object.keys(entries).length;
    }
    for (const entry of Object.values(cache.getKVStore() as Record<string, unknown>)) {
      if (typeof entry === 'object' && entry !== null && 'secret' in entry) n += 1;
    }
    return n;
  } catch {
    return -1;
  }
}
