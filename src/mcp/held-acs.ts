/**
 * The ACs the bridge holds for its agent. The agent names an AC by its ac_id only; the
 * token stays here, in a Secret.
 */
import { Secret } from '../credentials/secret.js';

/** ACs held at once per client; the oldest is forgotten first (the broker can re-send it). */
const MAX_HELD_ACS = 256;
/** setTimeout's longest delay; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The ACs issued to this agent, by ac_id, each in a Secret that is zero-filled when it is
 * dropped: at its expiry, when it is revoked, or when the map is full. A dropped token is
 * not lost — the broker shows an active AC to the key it is bound to — so this map only
 * saves a round trip and keeps the token out of every tool result.
 */
export class HeldAcs {
  readonly #held = new Map<string, { token: Secret; timer: NodeJS.Timeout }>();

  put(acId: string, token: string, expiresAt: string | undefined): void {
    const until = expiresAt === undefined ? Number.NaN : Date.parse(expiresAt);
    if (!Number.isFinite(until) || until <= Date.now()) return;
    this.drop(acId);
    while (this.#held.size >= MAX_HELD_ACS) {
      const oldest = this.#held.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
    this.#held.set(acId, { token: Secret.fromString(token), timer: this.#arm(acId, until) });
  }

  get(acId: string): string | undefined {
    return this.#held.get(acId)?.token.use((bytes) => bytes.toString('utf8'));
  }

  drop(acId: string): void {
    const entry = this.#held.get(acId);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    entry.token.dispose();
    this.#held.delete(acId);
  }

  #arm(acId: string, until: number): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        const entry = this.#held.get(acId);
        if (entry?.timer !== timer) return;
        if (Date.now() >= until) this.drop(acId);
        else entry.timer = this.#arm(acId, until);
      },
      Math.min(Math.max(until - Date.now(), 0), MAX_TIMER_MS),
    );
    // A held AC must never keep the bridge process alive.
    timer.unref();
    return timer;
  }
}
