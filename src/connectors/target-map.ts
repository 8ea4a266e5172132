/**
 * A connector setting keyed by target name (`hosts:` of ssh, `targets:` of bascule): a
 * mapping whose keys are read as canonical target names, so `DB1.Internal.Test.` and
 * `db1.internal.test` are one entry, as they are one target in an AC.
 */
import { z } from 'zod';
import { port, text } from '../base/fields.js';
import { canonicalTarget } from '../governance/targets.js';

export function targetMap<T extends z.ZodType>(value: T, error: string) {
  return z
    .record(z.string(), value, { error })
    .transform((record, ctx): ReadonlyMap<string, z.output<T>> => {
      const map = new Map<string, z.output<T>>();
      for (const [name, item] of Object.entries(record)) {
        let canonical: string;
        try {
          canonical = canonicalTarget(name);
        } catch {
          ctx.addIssue({ code: 'custom', message: 'keys must be hostnames or IP addresses' });
          return z.NEVER;
        }
        map.set(canonical, item);
      }
      return map;
    });
}

/** Per canonical target: where to connect, when not the target name or the default port. */
export type HostEndpoints = ReadonlyMap<
  string,
  { address?: string | undefined; port?: number | undefined }
>;

/** The `hosts:` setting of a connector that connects to its targets (ssh, winrm). */
export const hostEndpoints = () =>
  targetMap(
    z.strictObject(
      { address: text.optional(), port: port.optional() },
      { error: 'must be a mapping with address and/or port' },
    ),
    'must be a mapping of target names',
  ).default(new Map());
