/**
 * The trail as records for `bastion audit export --format ocsf|syslog`: the stored entries
 * in seq order, with the store's latest signed checkpoint placed right after the entry it
 * signs, so an export carries what a SIEM needs to re-verify the chain up to it. (The store
 * keeps the latest checkpoint only; the sink holds every one.)
 */
import type { Store } from '../../store/store.js';
import type { TrailRecord } from './ocsf.js';

export async function* exportRecords(store: Store, afterSeq: number): AsyncGenerator<TrailRecord> {
  const checkpoint = await store.latestCheckpoint();
  let pending = checkpoint !== undefined && checkpoint.seq > afterSeq ? checkpoint : undefined;
  for await (const entry of store.iterateAudit(afterSeq)) {
    yield { entry };
    if (pending !== undefined && entry.seq === pending.seq) {
      yield { checkpoint: pending };
      pending = undefined;
    }
  }
}
