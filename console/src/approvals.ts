/**
 * Approvals: the requests waiting for my decision — who asks, for what, why, since when,
 * and how many approvals it has of how many it needs — and the Approve and Deny buttons,
 * with an optional comment the requester sees.
 */
import { call } from './api.js';
import { attempt, button, did, field, h, say, when } from './dom.js';
import type { Identity } from './keys.js';
import { progress } from './requests.js';
import type { AcView } from './types.js';

function card(me: Identity, ac: AcView, again: () => void): HTMLElement {
  const facts: [string, Node | string][] = [
    ['Who', did(ac.principal_did)],
    ['Accord', ac.accord],
    ['What', `${ac.connector} → ${ac.target}`],
    ['Capabilities', ac.capabilities.join(', ')],
    ['For', `${Math.round(ac.duration_seconds / 60)} min`],
    ['Why', ac.justification ?? '(no justification given)'],
    ['Since', when(ac.requested_at)],
    ['Approvals', progress(ac)],
  ];
  const comment = h('textarea', { name: 'comment', maxlength: '500', rows: '2' });
  // Approve and Deny differ only in their path's tail and the words said after.
  const decide = (label: string, tail: string, done: string) =>
    button(label, () => {
      void attempt(label, async () => {
        const after = await call<AcView>(
          me,
          'POST',
          `/governance/approvals/${encodeURIComponent(ac.ac_id)}${tail}`,
          comment.value !== '' ? { comment: comment.value } : undefined,
        );
        say(`${done} ${ac.ac_id}: now ${after.status.replace('_', ' ')}`);
        again();
      });
    });
  return h(
    'article',
    { class: 'approval', 'data-ac-id': ac.ac_id, 'aria-label': `Request ${ac.ac_id}` },
    h('dl', {}, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    field('Comment (the requester sees it)', comment),
    h(
      'div',
      { class: 'toolbar' },
      decide('Approve', '', 'Approved'),
      decide('Deny', '/deny', 'Denied'),
    ),
  );
}

export async function approvalsView(me: Identity, root: HTMLElement): Promise<void> {
  const { acs } = await call<{ acs: AcView[] }>(me, 'GET', '/governance/approvals');
  const again = (): void => void attempt('Refresh', () => approvalsView(me, root));
  root.replaceChildren(
    h('h2', {}, 'Approvals'),
    h('div', { class: 'toolbar' }, button('Refresh', again)),
    acs.length === 0
      ? h('p', { class: 'empty' }, 'Nothing is waiting for your approval.')
      : h('div', { class: 'cards' }, ...acs.map((ac) => card(me, ac, again))),
  );
}
