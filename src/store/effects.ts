/**
 * The issuance effects `insertAuditEntries` applies in its transaction, checked and
 * dispatched in one place for every store: each store says how it inserts an AC and notes
 * a key's use, this says which one an effect is (and refuses anything else).
 */
import { InvalidArgumentError } from '../base/errors.js';
import type { AcRecord, StoreEffect } from './store.js';

export interface EffectTarget<R> {
  insertAc(record: AcRecord): R;
  noteKeyUse(kid: string, exp: number): R;
}

/** The effects as calls on `target`, in order; throws before any runs if one is unknown. */
export function effectCalls<R>(
  effects: readonly StoreEffect[],
  target: EffectTarget<R>,
): (() => R)[] {
  if (!(effects instanceof Array)) throw new InvalidArgumentError('store effect');
  return effects.map((effect: StoreEffect) => {
    switch (effect?.kind) {
      case 'insert_ac':
        return () => target.insertAc(effect.record);
      case 'note_key_use':
        return () => target.noteKeyUse(effect.kid, effect.exp);
      default:
        throw new InvalidArgumentError('store effect');
    }
  });
}
