/**
 * The console's entry: sign-in (a key in this browser, keys.ts) and the views, one at a
 * time, chosen by real buttons. Nothing but the person's key is stored in the browser.
 */
import { approvalsView } from './approvals.js';
import { auditView } from './audit.js';
import { backendsView } from './backends.js';
import { attempt, button, field, h, say } from './dom.js';
import {
  forgetIdentity,
  generateIdentity,
  type Identity,
  importIdentity,
  loadIdentity,
} from './keys.js';
import { liveView } from './live.js';
import { requestsView } from './requests.js';

type View = (me: Identity, root: HTMLElement) => Promise<void>;

const VIEWS: readonly (readonly [string, string, View])[] = [
  ['requests', 'My requests', requestsView],
  ['approvals', 'Approvals', approvalsView],
  ['live', 'Live ACs', liveView],
  ['audit', 'Audit', auditView],
  ['backends', 'Backends', backendsView],
];

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing`);
  return found;
}

function signIn(): void {
  const file = h('input', { type: 'file', name: 'keyfile', accept: '.key,.pem,text/plain' });
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    if (chosen === undefined) return;
    void attempt('Import', async () => {
      const pem = await chosen.text();
      file.value = '';
      show(await importIdentity(pem));
    });
  });
  element('identity').replaceChildren();
  element('nav').replaceChildren();
  element('view').replaceChildren(
    h('h2', {}, 'Sign in'),
    h(
      'p',
      {},
      'The console signs every request with a key kept in this browser (non-extractable, in ' +
        'IndexedDB); there is no password and no session. Add its did:key to an accord, or ' +
        'import the key file `bastion keygen` wrote.',
    ),
    h(
      'div',
      { class: 'signin' },
      button(
        'Create a new key',
        () => void attempt('Create', async () => show(await generateIdentity())),
      ),
      field('Import a bastion keygen key file', file),
    ),
  );
}

function show(me: Identity, current = 'requests'): void {
  say('');
  element('identity').replaceChildren(
    h('span', {}, 'Signed in as '),
    h('code', { id: 'my-did' }, me.did),
    button(
      'Forget this key',
      () =>
        void attempt('Forget', async () => {
          await forgetIdentity();
          signIn();
        }),
    ),
  );
  const nav = element('nav');
  nav.replaceChildren(
    ...VIEWS.map(([id, label]) =>
      button(label, () => show(me, id), {
        id: `nav-${id}`,
        ...(id === current ? { 'aria-current': 'page' } : {}),
      }),
    ),
  );
  const root = element('view');
  const view = VIEWS.find(([id]) => id === current);
  if (view === undefined) return;
  root.replaceChildren(h('h2', {}, view[1]), h('p', {}, 'Loading…'));
  root.dataset['view'] = current;
  delete root.dataset['state'];
  // data-state says when the view has settled (tests wait on it; no timer needed).
  view[2](me, root).then(
    () => (root.dataset['state'] = 'loaded'),
    (err: unknown) => {
      const e = err as { code?: string; message?: string };
      root.replaceChildren(
        h('h2', {}, view[1]),
        h('p', { class: 'refused' }, `${e.code ?? 'error'} — ${e.message ?? 'failed'}`),
      );
      root.dataset['state'] = 'failed';
    },
  );
}

void attempt('Start', async () => {
  if (!('subtle' in crypto))
    throw Object.assign(new Error('WebCrypto needs HTTPS or localhost'), {
      code: 'insecure_context',
    });
  const me = await loadIdentity();
  if (me === undefined) signIn();
  else show(me);
});
