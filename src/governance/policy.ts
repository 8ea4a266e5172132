/**
 * The policy in force: the accords and the broker-wide admins, and the keys they name.
 * Replaced as a whole when the configuration is reloaded (SIGHUP), and read at every
 * decision — authorize, approve, revoke, and every invocation's re-check — so a change
 * reaches live ACs at once.
 */
import type { Accord } from './accords.js';
import { ed25519Thumbprint, jwkFromDid } from './did-key.js';

/** RFC 7638 thumbprint of a did:key's key, synchronously so a reload swaps the whole policy at once. */
function didThumbprint(did: string): string {
  return ed25519Thumbprint(jwkFromDid(did).x ?? '');
}

/** Every DID the policy names: accords' principals, approvers, admins and delegates, and admins. */
export function namedDids(accords: Iterable<Accord>, admins: readonly string[]): Set<string> {
  const dids = new Set(admins);
  for (const accord of accords) {
    for (const list of [
      accord.principals,
      accord.approvals.approvers,
      accord.admins,
      accord.delegates ?? [],
    ]) {
      for (const did of list) dids.add(did);
    }
  }
  return dids;
}

export class Policy {
  #accords: ReadonlyMap<string, Accord>;
  #admins: readonly string[];
  #knownKeys: ReadonlySet<string>;
  #generation = 0;

  constructor(accords: ReadonlyMap<string, Accord>, admins: readonly string[]) {
    this.#accords = accords;
    this.#admins = admins;
    this.#knownKeys = Policy.#keysOf(accords, admins);
  }

  get accords(): ReadonlyMap<string, Accord> {
    return this.#accords;
  }

  get admins(): readonly string[] {
    return this.#admins;
  }

  /** Whether any accord or the admin list names the key with this RFC 7638 thumbprint. */
  knowsKey(jkt: string): boolean {
    return this.#knownKeys.has(jkt);
  }

  /** How many times the policy was replaced: what was derived from it can tell it is stale. */
  get generation(): number {
    return this.#generation;
  }

  /** The new accords and admins, in force for every decision from now on. */
  replace(accords: ReadonlyMap<string, Accord>, admins: readonly string[]): void {
    const keys = Policy.#keysOf(accords, admins);
    this.#accords = accords;
    this.#admins = admins;
    this.#knownKeys = keys;
    this.#generation += 1;
  }

  static #keysOf(accords: ReadonlyMap<string, Accord>, admins: readonly string[]): Set<string> {
    return new Set([...namedDids(accords.values(), admins)].map(didThumbprint));
  }
}
