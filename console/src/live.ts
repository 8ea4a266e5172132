/**
 * Live ACs (broker admins): every active AC (GET /governance/live), filtered here by
 * accord, principal, connector and target, each revocable.
 */
import { call } from './api.js';
import { attempt, button, did, field, h, row, say, table, when } from './dom.js';
import type { Identity } from './keys.js';
import type { AcView } from './types.js';

const FILTERS = [
  ['accord', 'Accord'],
  ['principal_did', 'Principal'],
  ['connector', 'Connector'],
  ['target', 'Target'],
] as const;

export async function liveView(me: Identity, root: HTMLElement): Promise<void> {
  const { acs } = await call<{ acs: AcView[] }>(me, 'GET', '/governance/live');
  const again = (): void => void attempt('Refresh', () => liveView(me, root));
  const inputs = FILTERS.map(([key, label]) => {
    const input = h('input', { name: key, type: 'search', autocomplete: 'off' });
    return { key, input, label: field(label, input) };
  });
  const results = h('div', { class: 'results' });
  const render = (): void => {
    const shown = acs.filter((ac) =>
      inputs.every(({ key, input }) => ac[key].includes(input.value.trim())),
    );
    const rows = shown.map((ac) =>
      row(
        [
          ac.accord,
          did(ac.principal_did),
          ac.connector,
          ac.target,
          ac.capabilities.join(', '),
          when(ac.expires_at),
          button('Revoke', () => {
            void attempt('Revoke', async () => {
              await call(me, 'POST', '/governance/revoke/', { ac_id: ac.ac_id });
              say(`Revoked ${ac.ac_id}`);
              again();
            });
          }),
        ],
        { 'data-ac-id': ac.ac_id },
      ),
    );
    results.replaceChildren(
      table(
        `Live ACs (${shown.length} of ${acs.length})`,
        ['Accord', 'Principal', 'Connector', 'Target', 'Capabilities', 'Expires', ''],
        rows,
      ),
    );
  };
  for (const { input } of inputs) input.addEventListener('input', render);
  render();
  root.replaceChildren(
    h('h2', {}, 'Live ACs'),
    h(
      'div',
      { class: 'filters', role: 'search' },
      ...inputs.map((i) => i.label),
      button('Refresh', again),
    ),
    results,
  );
}
