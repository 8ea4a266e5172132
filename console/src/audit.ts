/**
 * Audit: the timeline of what happened — invocations with who acted for whom (the
 * delegation chain), outcome and credential fingerprint — filtered through the API's own
 * filters, its chain and latest signed checkpoint checked here (chain.ts, checkpoint.ts),
 * and exported as the API's JSON Lines.
 */
import { call, callText, queryEnum } from './api.js';
import { checkChain } from './chain.js';
import { checkCheckpoint } from './checkpoint.js';
import { attempt, button, did, field, h, row, say, table, when } from './dom.js';
import type { Identity } from './keys.js';
import type { AuditEntry, Checkpoint } from './types.js';

/** The latest checkpoint, checked against the JWKS and the verified entries shown. */
async function anchor(me: Identity, entries: AuditEntry[], ok: boolean[]): Promise<HTMLElement> {
  const [{ checkpoints }, jwks] = await Promise.all([
    call<{ checkpoints: Checkpoint[] }>(me, 'GET', '/audit/checkpoints'),
    fetch('/.well-known/jwks.json', { credentials: 'omit', cache: 'no-store', redirect: 'error' }),
  ]);
  const latest = checkpoints[0];
  if (latest === undefined) return h('p', { class: 'checkpoint' }, 'No signed checkpoint yet.');
  const { keys } = (await jwks.json()) as { keys: [] };
  const hashAt = (seq: number): string | undefined => {
    const i = entries.findIndex((e) => e.seq === seq);
    // A shown entry that failed its own check anchors nothing.
    return i < 0 ? undefined : ok[i] === true ? entries[i]?.hash : '';
  };
  const check = await checkCheckpoint(latest, keys, hashAt);
  return h(
    'p',
    { class: 'checkpoint', 'data-verified': String(check.verified), 'data-seq': String(check.seq) },
    check.verified
      ? `Verified up to checkpoint at entry ${check.seq} (signed by kid ${check.kid}).`
      : `✗ The checkpoint at entry ${check.seq} is not verified: its signature or its hash does not hold.`,
  );
}

/** Who acted, and for whom when that differs (a delegate acting for its principal). */
function chainOf(e: AuditEntry): HTMLElement {
  const out = h('span', { class: 'chain' }, did(e.actor));
  if (e.principal !== undefined && e.principal !== e.actor) out.append(' for ', did(e.principal));
  return out;
}

function fingerprintOf(e: AuditEntry): string {
  const f = e.detail?.['fingerprint'];
  return typeof f === 'string' ? f : '';
}

export async function auditView(me: Identity, root: HTMLElement): Promise<void> {
  const type = h('select', { name: 'type' }, h('option', { value: '' }, 'any'));
  // The entry types as the API declares them for GET /audit?type=.
  for (const t of await queryEnum('/audit', 'type')) type.append(h('option', { value: t }, t));
  const acId = h('input', { name: 'ac_id', maxlength: '64', autocomplete: 'off' });
  const who = h('input', { name: 'did', maxlength: '128', autocomplete: 'off' });
  const results = h('div', { class: 'results' });
  const query = (): string => {
    const q = new URLSearchParams({ limit: '200' });
    if (type.value !== '') q.set('type', type.value);
    if (acId.value !== '') q.set('ac_id', acId.value.trim());
    if (who.value !== '') q.set('did', who.value.trim());
    return `/audit?${q.toString()}`;
  };
  const load = async (): Promise<void> => {
    const { entries } = await call<{ entries: AuditEntry[] }>(me, 'GET', query());
    const { ok, verifiedTo } = await checkChain(entries);
    const anchored = await anchor(me, entries, ok);
    const rows = entries.map((e, i) =>
      row(
        [
          String(e.seq),
          when(e.ts),
          e.type,
          chainOf(e),
          e.ac_id === undefined ? '' : h('code', { title: e.ac_id }, e.ac_id.slice(0, 8)),
          [e.connector, e.target].filter(Boolean).join(' → '),
          e.outcome ?? '',
          h('code', { class: 'fingerprint' }, fingerprintOf(e)),
          ok[i] === true ? '✓ verified' : '✗ does not verify',
        ],
        { 'data-seq': String(e.seq), 'data-type': e.type },
      ),
    );
    results.replaceChildren(
      h(
        'p',
        { class: 'verified', 'data-verified-to': String(verifiedTo ?? '') },
        verifiedTo === undefined
          ? entries.length === 0
            ? 'No entries.'
            : 'The first entry shown does not verify.'
          : `Chain verified up to entry ${verifiedTo} (${entries.length} shown; hashes recomputed in this browser).`,
      ),
      anchored,
      table(
        'Audit timeline',
        ['Seq', 'When', 'Type', 'Who', 'AC', 'Where', 'Outcome', 'Fingerprint', 'Chain'],
        rows,
      ),
    );
  };
  const exportLines = async (): Promise<void> => {
    const text = await callText(me, query());
    const link = h('a', {
      href: URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' })),
      download: 'bastion-audit.jsonl',
    });
    link.click();
    URL.revokeObjectURL(link.href);
    say('Exported the entries shown as JSON Lines');
  };
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Audit filters' },
    field('Type', type),
    field('AC id', acId),
    field('DID (admins)', who),
    h('button', { type: 'submit' }, 'Apply filters'),
    button('Export JSON Lines', () => void attempt('Export', exportLines)),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void attempt('Audit', load);
  });
  root.replaceChildren(h('h2', {}, 'Audit'), form, results);
  return load();
}
