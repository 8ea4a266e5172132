/**
 * The configuration field of a target pattern (accords, the HTTP connector's credential
 * rules, backends that map targets): read as its canonical form (targets.ts), so that
 * policy only ever compares canonical patterns; `why` says what the place takes.
 */
import { checked } from '../base/fields.js';
import { canonicalTargetPattern } from './targets.js';

export function targetPatternField(why: string) {
  return checked((value) => {
    try {
      if (typeof value !== 'string') throw new TypeError();
      return { ok: true, value: canonicalTargetPattern(value) };
    } catch {
      return { ok: false, why };
    }
  });
}

/** A pattern of http(s) URL targets, as the HTTP connector and its backends take them. */
export const urlPatternField = targetPatternField(
  'must be an http(s) URL pattern, optionally with * and ? wildcards',
);
