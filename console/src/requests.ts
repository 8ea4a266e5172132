/**
 * My requests: ask for an AC under one of my accords, follow its status and approvals,
 * revoke it. The AC itself (the token an active request returns) is never kept or shown:
 * the console decides and watches; invocations are the CLI's and agents'.
 */
import { call } from './api.js';
import { attempt, button, field, h, row, say, table, when } from './dom.js';
import type { Identity } from './keys.js';
import type { AccordView, AcView } from './types.js';

/** What the approvers said: the denial's comment, then each approval's. */
function comments(ac: AcView): HTMLElement | undefined {
  const said = [
    ...(ac.denial_comment !== undefined ? [`Denied: ${ac.denial_comment}`] : []),
    ...ac.approvals.flatMap((a) => (a.comment !== undefined ? [`Approved: ${a.comment}`] : [])),
  ];
  if (said.length === 0) return undefined;
  return h('ul', { class: 'comments' }, ...said.map((text) => h('li', {}, text)));
}

export function progress(ac: AcView): HTMLElement {
  const done = ac.approvals.length;
  const need = ac.approvals_required;
  if (need === 0) return h('span', {}, 'none needed');
  const text = `${done} of ${need}`;
  return h(
    'span',
    { class: 'progress' },
    h('progress', { max: String(need), value: String(done), 'aria-label': `approvals ${text}` }),
    ` ${text}`,
  );
}

function requestForm(me: Identity, accords: AccordView[], done: () => void): HTMLFormElement {
  const accord = h('select', { name: 'accord', required: '' });
  for (const a of accords.filter((x) => x.as === 'principal'))
    accord.append(h('option', { value: a.id }, a.id));
  const connector = h('select', { name: 'connector', required: '' });
  const target = h('input', { name: 'target', required: '', autocomplete: 'off' });
  const caps = h('fieldset', { class: 'caps' }, h('legend', {}, 'Capabilities'));
  const minutes = h('input', { name: 'minutes', type: 'number', min: '1', value: '15' });
  const why = h('textarea', { name: 'justification', maxlength: '1024', rows: '2' });
  const fill = (): void => {
    const a = accords.find((x) => x.id === accord.value);
    connector.replaceChildren(...(a?.connectors ?? []).map((c) => h('option', { value: c }, c)));
    target.placeholder = a?.targets.join(', ') ?? '';
    caps.replaceChildren(caps.firstChild ?? '');
    for (const c of a?.capabilities ?? []) {
      caps.append(h('label', {}, h('input', { type: 'checkbox', name: 'cap', value: c }), ` ${c}`));
    }
    minutes.max = String(Math.floor((a?.max_duration_seconds ?? 60) / 60));
  };
  accord.addEventListener('change', fill);
  fill();
  const form = h(
    'form',
    { class: 'request', 'aria-label': 'Request access' },
    field('Accord', accord),
    field('Connector', connector),
    field('Target', target),
    caps,
    field('Duration (minutes)', minutes),
    field('Justification', why),
    h('button', { type: 'submit' }, 'Request access'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const capabilities = [
      ...form.querySelectorAll<HTMLInputElement>('input[name=cap]:checked'),
    ].map((c) => c.value);
    void attempt('Request', async () => {
      // Only the id and status are read: an active reply's token is dropped here.
      const { ac_id, status } = await call<{ ac_id: string; status: string }>(
        me,
        'POST',
        '/governance/authorize/',
        {
          accord: accord.value,
          connector: connector.value,
          target: target.value,
          capabilities,
          duration_seconds: Number(minutes.value) * 60,
          ...(why.value !== '' ? { justification: why.value } : {}),
        },
      );
      say(`Requested ${ac_id}: ${status.replace('_', ' ')}`);
      done();
    });
  });
  return form;
}

export async function requestsView(me: Identity, root: HTMLElement): Promise<void> {
  const [{ accords }, { acs }] = await Promise.all([
    call<{ accords: AccordView[] }>(me, 'GET', '/governance/accords'),
    call<{ acs: AcView[] }>(me, 'GET', '/governance/acs'),
  ]);
  const again = (): void => void attempt('Refresh', () => requestsView(me, root));
  const rows = acs.map((ac) =>
    row(
      [
        when(ac.requested_at),
        ac.accord,
        ac.connector,
        ac.target,
        ac.capabilities.join(', '),
        h('span', { class: `status ${ac.status}` }, ac.status.replace('_', ' ')),
        h('div', {}, progress(ac), comments(ac)),
        when(ac.expires_at),
        ac.status === 'active' || ac.status === 'pending_approval'
          ? button('Revoke', () => {
              void attempt('Revoke', async () => {
                await call(me, 'POST', '/governance/revoke/', { ac_id: ac.ac_id });
                say(`Revoked ${ac.ac_id}`);
                again();
              });
            })
          : undefined,
      ],
      { 'data-ac-id': ac.ac_id, 'data-status': ac.status },
    ),
  );
  root.replaceChildren(
    h('h2', {}, 'My requests'),
    accords.some((a) => a.as === 'principal')
      ? requestForm(me, accords, again)
      : h('p', {}, 'No accord names this key as a principal yet.'),
    h('div', { class: 'toolbar' }, button('Refresh', again)),
    table(
      'My authorization contexts',
      [
        'Requested',
        'Accord',
        'Connector',
        'Target',
        'Capabilities',
        'Status',
        'Approvals',
        'Expires',
        '',
      ],
      rows,
    ),
  );
}
