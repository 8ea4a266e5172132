/**
 * `connectors.bascule`: one argv, run without a shell by the Bascule runtime on the target,
 * under a single-use grant. Settings: per target, the runtime's endpoint.
 */
import { z } from 'zod';
import { CONTROL, checked } from '../../base/fields.js';
import { canonicalTarget, targetKind } from '../../governance/targets.js';
import { ARGV_ONLY } from '../command/operation.js';
import { defineConnectorPlugin } from '../plugin.js';
import { targetMap } from '../target-map.js';
import { BasculeConnector } from './connector.js';

const endpoint = checked((value) => {
  const why = 'must be an http:// URL or unix:/absolute/socket/path';
  if (typeof value !== 'string' || CONTROL.test(value)) return { ok: false, why };
  if (/^unix:\/[^\0]+$/.test(value)) return { ok: true, value };
  if (targetKind(value) !== 'url' || !value.startsWith('http')) return { ok: false, why };
  return { ok: true, value: canonicalTarget(value) };
});

const settings = z.strictObject(
  {
    targets: targetMap(endpoint, 'must be a mapping of target names to endpoints').default(
      new Map(),
    ),
  },
  { error: 'must be a mapping' },
);

export type BasculeSettings = z.output<typeof settings>;

export const basculePlugin = defineConnectorPlugin({
  kind: 'bascule',
  summary: 'One argv without a shell through the Bascule runtime (credential bascule_ac)',
  operation: ARGV_ONLY,
  capabilities: ['exec'],
  settings: () => settings,
  create: (s: BasculeSettings) => new BasculeConnector({ targets: s.targets }),
  // A target without a runtime endpoint here is refused at invoke.
  servedTargets: (s: BasculeSettings) => [...s.targets.keys()],
});
