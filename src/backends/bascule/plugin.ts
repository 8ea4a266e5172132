/**
 * `kind: bascule`: single-use grants for the Bascule runtime, signed with the broker's own
 * AC key (credential `bascule_ac`). Built into the broker: it needs no settings and is
 * added after the listed backends when the list does not name it.
 */
import { z } from 'zod';
import { backendId } from '../../base/fields.js';
import { defineBackendPlugin } from '../plugin.js';
import { BasculeBackend } from './bascule-backend.js';

const settings = z.strictObject({ id: backendId.optional() }, { error: 'must be a mapping' });

export const basculePlugin = defineBackendPlugin({
  kind: 'bascule',
  summary: 'Single-use grants for the Bascule runtime, signed by the broker (built in)',
  implicit: true,
  settings: () => settings,
  create: (s: z.output<typeof settings>, deps) =>
    new BasculeBackend({
      signer: deps.signer,
      issuer: deps.issuer,
      clock: deps.clock,
      ...(s.id !== undefined ? { id: s.id } : {}),
    }),
});
