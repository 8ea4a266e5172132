/**
 * What a caller can find without knowing an ac_id: its own ACs (requested by it, or bound
 * to its key by delegation) and the requests waiting for its approval. Views as `show`
 * gives them, but never with the token: an AC is fetched by its id to be used.
 */
import { BastionError } from '../base/errors.js';
import type { AcRecord, Store } from '../store/store.js';
import type { VerifiedProof } from './dpop.js';
import type { Policy } from './policy.js';
import { acStatus, type AcView, acView } from './views.js';

export interface Listing {
  readonly store: Store;
  readonly policy: Policy;
  readonly now: number;
  readonly approvalTtlMs: number;
}

/** The caller's ACs, as principal or as the key they are bound to, newest request first. */
export async function ownAcs(l: Listing, caller: VerifiedProof, limit?: number): Promise<AcView[]> {
  const party = { did: caller.did, jkt: caller.jkt };
  return views(l, await l.store.listAcs({ party, limit }));
}

/**
 * Requests the caller can approve and has not: pending and not yet expired, under an accord
 * that names it as an approver today, requested by someone else.
 */
export async function awaitingApproval(
  l: Listing,
  caller: VerifiedProof,
  limit?: number,
): Promise<AcView[]> {
  const accords = [...l.policy.accords.values()]
    .filter((accord) => accord.approvals.approvers.includes(caller.did))
    .map((accord) => accord.id);
  if (accords.length === 0) return [];
  const records = await l.store.listAcs({
    state: 'pending_approval',
    accords,
    undecidedBy: caller.did,
    requestedAfter: l.now - l.approvalTtlMs,
    limit,
  });
  return views(l, records);
}

/**
 * Every live AC, for a broker admin (the console's Live ACs view), newest request first; any
 * other caller is refused `admin_required`. Expired ACs whose rows the store has not yet
 * swept are left out.
 */
export async function liveAcs(
  l: Listing,
  caller: VerifiedProof,
  limit?: number,
): Promise<AcView[]> {
  if (!l.policy.admins.includes(caller.did)) throw new BastionError('admin_required');
  const all = await views(l, await l.store.listAcs({ state: 'active', limit }));
  return all.filter((view) => view.status === 'active');
}

/** The listings by name, as the routes and the service choose them. */
export const LISTINGS = { own: ownAcs, awaiting: awaitingApproval, live: liveAcs } as const;

async function views(l: Listing, records: readonly AcRecord[]): Promise<AcView[]> {
  return Promise.all(
    records.map(async (record) =>
      acView(
        record,
        acStatus(record, l.now, l.approvalTtlMs),
        await l.store.listApprovals(record.ac_id),
      ),
    ),
  );
}
