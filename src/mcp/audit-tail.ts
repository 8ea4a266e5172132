/** What the bridge remembers of the audit trail between `audit_tail` calls. */
import type { AuditEntry } from '../base/audit-records.js';
import type { BastionClient } from '../client/client.js';

const AUDIT_PAGE = 1000;
const AUDIT_PAGES_PER_CALL = 20;
const AUDIT_KEEP = 200;
const AUDIT_FILTERS = 32;

/**
 * The newest audit entries per filter. Entries are immutable (hash-chained), so what was
 * read once is kept (at most AUDIT_KEEP per filter) and the next call only pages forward
 * from there: the broker pages oldest first, and reading the whole trail every time would
 * cost the agent's rate limit.
 */
export class AuditTail {
  readonly #byFilter = new Map<string, { after: number; entries: AuditEntry[] }>();

  async read(
    client: BastionClient,
    acId: string | undefined,
    limit: number,
  ): Promise<{ entries: AuditEntry[]; complete: boolean }> {
    const key = acId ?? '';
    let state = this.#byFilter.get(key) ?? { after: 0, entries: [] };
    let complete = false;
    for (let page = 0; page < AUDIT_PAGES_PER_CALL; page++) {
      const reply = await client.audit({
        ...(state.after > 0 ? { after: state.after } : {}),
        limit: AUDIT_PAGE,
        ...(acId !== undefined ? { ac_id: acId } : {}),
      });
      const last = reply.entries.at(-1);
      if (last !== undefined) {
        state = {
          after: last.seq,
          entries: [...state.entries, ...reply.entries].slice(-AUDIT_KEEP),
        };
      }
      if (reply.next_after === null || last === undefined) {
        complete = true;
        break;
      }
    }
    // Most recently used last; the least recently used filter is forgotten first.
    this.#byFilter.delete(key);
    this.#byFilter.set(key, state);
    for (const old of this.#byFilter.keys()) {
      if (this.#byFilter.size <= AUDIT_FILTERS) break;
      this.#byFilter.delete(old);
    }
    return { entries: state.entries.slice(-limit), complete };
  }
}
