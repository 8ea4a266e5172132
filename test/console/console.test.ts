/**
 * The web console's acceptance, in Debian's Chromium against a real broker and sshd: a
 * requester signs in by importing a `bastion keygen` key (the browser derives the CLI's
 * did:key), an approver signs in with a key the browser generates, the request is approved
 * in the second browser, turns active, a CLI invocation appears in the audit timeline with
 * its credential fingerprint, the requester revokes it in the console and the CLI is then
 * refused. Each view is checked at 1280×800 and 390×844 by visibility and bounding boxes,
 * and screenshotted. Zero-credential: neither the AC nor any credential (the dev backend's
 * marker) is in any page, storage or console message — a scan that first finds a marker
 * planted in each of those places.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { AUDIT_TYPES } from '../../src/base/audit-records.js';
import { DID_KEY_PATTERN } from '../../src/governance/did-key.js';
import {
  CHROMIUM_SKIP,
  checkLayout,
  DESKTOP,
  dumpPage,
  launchChromium,
  openConsole,
  PHONE,
  type WatchedPage,
} from '../helpers/browser.js';
import { bastionAsync } from '../helpers/cli.js';
import { expectNoMarker, newMarker } from '../helpers/leak.js';
import { ACCORD, type ConsoleWorld, startConsoleWorld } from './world.js';

/** Everything a page exposes to script and to its person, as one text. */
async function exposed(w: WatchedPage): Promise<string> {
  return JSON.stringify({ dump: await dumpPage(w.page), logs: w.logs });
}

async function view(w: WatchedPage, id: string): Promise<void> {
  await w.page.click(`#nav-${id}`);
  await w.page.waitForSelector(`main[data-view="${id}"][data-state]`);
}

describe('web console in Chromium', { skip: CHROMIUM_SKIP }, () => {
  let world: ConsoleWorld;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let requester: WatchedPage;
  let approver: WatchedPage;
  let acId = '';
  const cli = (...operation: string[]) =>
    bastionAsync([
      'invoke',
      acId,
      '--key',
      world.requesterKeyFile,
      '--url',
      world.url,
      '--',
      ...operation,
    ]);
  const newPage = async (): Promise<WatchedPage> => {
    const context = await browser.newContext();
    contexts.push(context);
    return openConsole(context, world.url);
  };

  before(async () => {
    world = await startConsoleWorld();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await world?.close();
  });

  it('signs the requester in with an imported keygen file, under the CLI did:key', async () => {
    requester = await newPage();
    const { page } = requester;
    await page.waitForSelector('input[name=keyfile]');
    await checkLayout(page, 'signin', DESKTOP, ['h1', 'main h2', 'button', 'input[type=file]']);
    await checkLayout(page, 'signin', PHONE, ['h1', 'main h2', 'button', 'input[type=file]']);
    await page.setInputFiles('input[name=keyfile]', world.requesterKeyFile);
    assert.equal(await page.textContent('#my-did'), world.requesterDid);
    const stored = (await dumpPage(page)).indexedDb;
    assert.deepEqual(
      stored.map((s) => [s.db, s.store, s.records.length]),
      [['bastion-console', 'identity', 1]],
    );
    assert.deepEqual((stored[0]?.records[0] as any).privateKey, {
      CryptoKey: 'private',
      algorithm: 'Ed25519',
      extractable: false,
    });
  });

  it('signs the approver in with a key generated in the browser', async () => {
    approver = await newPage();
    await approver.page.click('text=Create a new key');
    const did = (await approver.page.textContent('#my-did')) ?? '';
    assert.match(did, DID_KEY_PATTERN);
    assert.notEqual(did, world.requesterDid);
    const [stored] = (await dumpPage(approver.page)).indexedDb;
    assert.equal((stored?.records[0] as any).privateKey.extractable, false);
    assert.equal((stored?.records[0] as any).did, did);
    world.admit(did);
  });

  it('requests an AC that needs one approval', async () => {
    const { page } = requester;
    await page.waitForSelector('form.request select[name=accord]');
    assert.equal(await page.inputValue('select[name=accord]'), ACCORD);
    await page.fill('input[name=target]', '127.0.0.1');
    await page.check('input[name=cap][value=exec]');
    await page.fill('input[name=minutes]', '5');
    await page.fill('textarea[name=justification]', 'INC-7: check the host answers');
    await page.click('button[type=submit]');
    const row = page.locator('tr[data-status="pending_approval"]');
    await row.waitFor();
    acId = (await row.getAttribute('data-ac-id')) ?? '';
    assert.match(acId, /^[0-9a-f-]{36}$/);
    assert.match((await row.textContent()) ?? '', /0 of 1/);
    for (const size of [DESKTOP, PHONE]) {
      await checkLayout(page, 'requests', size, ['nav button', 'form.request', 'main .table-wrap']);
    }
  });

  it('approves it from the second browser, with the keyboard', async () => {
    const { page } = approver;
    await view(approver, 'approvals');
    const card = page.locator(`article[data-ac-id="${acId}"]`);
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    assert.ok(text.includes('INC-7: check the host answers'), 'why');
    assert.ok(text.includes('ssh → 127.0.0.1'), 'what');
    assert.match(text, /0 of 1/);
    assert.equal(
      await card.locator('code.did').getAttribute('title'),
      world.requesterDid,
      'who asks',
    );
    for (const size of [DESKTOP, PHONE]) {
      await checkLayout(page, 'approvals', size, ['nav button', 'article.approval button']);
    }
    await card.getByLabel('Comment').fill('ok for INC-7');
    await card.getByRole('button', { name: 'Approve' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('#status:has-text("now active")');
  });

  it('shows the AC active to its requester with the approval comment; the CLI invokes under it', async () => {
    await requester.page.click('main button:has-text("Refresh")');
    const row = requester.page.locator(`tr[data-ac-id="${acId}"][data-status="active"]`);
    await row.waitFor();
    assert.ok(((await row.textContent()) ?? '').includes('Approved: ok for INC-7'));
    const run = await cli('echo', 'console-ok');
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /console-ok/);
  });

  it('shows the invocation in the audit timeline with its fingerprint, chain verified', async () => {
    const [issue] = await world.server.audit.list({ type: 'credential_issue', ac_id: acId });
    const fingerprint = issue?.detail?.['fingerprint'];
    assert.equal(typeof fingerprint, 'string');
    // A signed checkpoint of the chain so far, for the console to check against the JWKS.
    await world.server.audit.checkpoint();
    const { page } = requester;
    await view(requester, 'audit');
    await page.fill('input[name=ac_id]', acId);
    await page.click('text=Apply filters');
    await page.waitForSelector(`code.fingerprint:text-is("${String(fingerprint)}")`);
    // The type filter offers exactly the API's entry types (read from /openapi.json).
    const offered = await page.locator('select[name=type] option').allTextContents();
    assert.deepEqual(offered, ['any', ...AUDIT_TYPES]);
    for (const type of ['authorize', 'approve', 'invoke_start', 'credential_issue', 'invoke_end']) {
      assert.ok(await page.locator(`tr[data-type="${type}"]`).count(), type);
    }
    assert.equal(await page.locator('td:text-is("✗ does not verify")').count(), 0);
    const last = await page.locator('tr[data-seq]').last().getAttribute('data-seq');
    assert.equal(await page.getAttribute('p.verified', 'data-verified-to'), last);
    const checkpoint = await world.server.store.latestCheckpoint();
    const kid = world.server.keyring.activeKid;
    const anchored = page.locator('p.checkpoint[data-verified="true"]');
    await anchored.waitFor();
    assert.equal(
      await anchored.textContent(),
      `Verified up to checkpoint at entry ${checkpoint?.seq} (signed by kid ${kid}).`,
    );
    for (const size of [DESKTOP, PHONE]) {
      await checkLayout(page, 'audit', size, ['nav button', 'form.filters', 'main .table-wrap']);
    }
  });

  it('says where the chain stops verifying when a reply was tampered with', async () => {
    const { page } = requester;
    // The second entry's outcome is changed on its way to the page.
    await page.route('**/audit?*', async (route) => {
      const reply = await route.fetch();
      const body = (await reply.json()) as { entries: { seq: number; outcome?: string }[] };
      const second = body.entries[1];
      if (second !== undefined) second.outcome = 'tampered';
      await route.fulfill({ response: reply, json: body });
    });
    await page.click('text=Apply filters');
    await page.waitForSelector('td:text-is("✗ does not verify")');
    const seqs = await page
      .locator('tr[data-seq]')
      .evaluateAll((rows) =>
        rows.map((r) => (r as unknown as { dataset: { seq: string } }).dataset.seq),
      );
    assert.equal(await page.getAttribute('p.verified', 'data-verified-to'), seqs[0]);
    await page.unroute('**/audit?*');
  });

  it('says the checkpoint is not verified when its signature was tampered with', async () => {
    const { page } = requester;
    await page.route('**/audit/checkpoints', async (route) => {
      const reply = await route.fetch();
      const body = (await reply.json()) as { checkpoints: { jws: string }[] };
      const [first] = body.checkpoints;
      if (first !== undefined) {
        // One signature character changed: the JWS no longer verifies under the JWKS key.
        const flip = first.jws.at(-2) === 'A' ? 'B' : 'A';
        first.jws = first.jws.slice(0, -2) + flip + first.jws.slice(-1);
      }
      await route.fulfill({ response: reply, json: body });
    });
    await page.click('text=Apply filters');
    const refused = page.locator('p.checkpoint[data-verified="false"]');
    await refused.waitFor();
    assert.match((await refused.textContent()) ?? '', /not verified/);
    await page.unroute('**/audit/checkpoints');
    await page.click('text=Apply filters');
    await page.locator('p.checkpoint[data-verified="true"]').waitFor();
  });

  it('lets the admin see and filter live ACs and backend health', async () => {
    const { page } = approver;
    await view(approver, 'live');
    const row = page.locator(`tr[data-ac-id="${acId}"]`);
    await row.waitFor();
    await page.fill('input[name=principal_did]', world.requesterDid);
    await row.waitFor();
    await page.fill('input[name=accord]', 'no-such-accord');
    await row.waitFor({ state: 'detached' });
    await page.fill('input[name=accord]', '');
    await row.waitFor();
    for (const size of [DESKTOP, PHONE]) {
      await checkLayout(page, 'live', size, [
        'nav button',
        'input[name=accord]',
        'main .table-wrap',
      ]);
    }
    await view(approver, 'backends');
    await page.waitForSelector('tr[data-backend][data-state="closed"]');
    for (const size of [DESKTOP, PHONE]) {
      await checkLayout(page, 'backends', size, ['nav button', 'main .table-wrap']);
    }
  });

  it('keeps the AC and every credential out of pages, storage and console logs', async () => {
    // The scan first finds a marker planted in each place it looks.
    const planted = newMarker();
    const plant = await newPage();
    await plant.page.evaluate(`(async () => {
      console.log(${JSON.stringify(planted)});
      localStorage.setItem('p', 'x');
      sessionStorage.setItem('p', ${JSON.stringify(planted)});
      document.body.append(${JSON.stringify(planted)});
      const db = await new Promise((ok) => { const r = indexedDB.open('plant', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('s'); r.onsuccess = () => ok(r.result); });
      await new Promise((ok) => { const t = db.transaction('s', 'readwrite');
        t.objectStore('s').put({ v: ${JSON.stringify(planted)} }, 1); t.oncomplete = ok; });
    })()`);
    const dump = await dumpPage(plant.page);
    for (const [where, text] of [
      ['console', plant.logs.join('\n')],
      ['sessionStorage', JSON.stringify(dump.session)],
      ['html', dump.html],
      ['indexedDB', JSON.stringify(dump.indexedDb)],
    ] as const) {
      assert.ok(text.includes(planted), `the scan misses a marker in ${where}`);
    }
    const shown = await bastionAsync([
      'acs',
      'show',
      acId,
      '--key',
      world.requesterKeyFile,
      '--url',
      world.url,
      '--json',
    ]);
    const token = (JSON.parse(shown.stdout) as { ac?: string }).ac ?? '';
    assert.match(token, /^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    for (const w of [requester, approver]) {
      const seen: string[] = [];
      for (const id of ['requests', 'approvals', 'live', 'audit', 'backends']) {
        await view(w, id);
        seen.push(await exposed(w));
      }
      const text = seen.join('\n');
      assert.ok(!text.includes(token), 'the AC is in the console');
      assert.ok(!text.includes(token.split('.')[2] ?? '-'), 'the AC signature is in the console');
      expectNoMarker(text, world.marker, 'the console');
    }
  });

  it('revokes the AC from the console; the next CLI invocation is refused', async () => {
    const { page } = requester;
    await view(requester, 'requests');
    await page.click(`tr[data-ac-id="${acId}"] button:has-text("Revoke")`);
    await page.waitForSelector(`tr[data-ac-id="${acId}"][data-status="revoked"]`);
    const run = await cli('echo', 'after-revoke');
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /ac_revoked/);
    assert.doesNotMatch(run.stdout, /after-revoke/);
  });

  it('denies a second request with a comment; the requester sees it denied, with the comment', async () => {
    await view(requester, 'requests');
    await requester.page.fill('input[name=target]', '127.0.0.1');
    await requester.page.check('input[name=cap][value=exec]');
    await requester.page.fill('textarea[name=justification]', 'INC-8');
    await requester.page.click('button[type=submit]');
    const pending = requester.page.locator('tr[data-status="pending_approval"]');
    await pending.waitFor();
    const deniedId = (await pending.getAttribute('data-ac-id')) ?? '';
    const { page } = approver;
    await view(approver, 'approvals');
    const card = page.locator(`article[data-ac-id="${deniedId}"]`);
    await card.getByLabel('Comment').fill('not during the freeze <b>!</b>');
    await card.getByRole('button', { name: 'Deny' }).click();
    await page.waitForSelector('#status:has-text("now denied")');
    await card.waitFor({ state: 'detached' });
    await requester.page.click('main button:has-text("Refresh")');
    const row = requester.page.locator(`tr[data-ac-id="${deniedId}"][data-status="denied"]`);
    await row.waitFor();
    // The comment is text, never markup.
    assert.ok(((await row.textContent()) ?? '').includes('Denied: not during the freeze <b>!</b>'));
    assert.equal(await row.locator('b').count(), 0);
    assert.equal(await row.locator('button:has-text("Revoke")').count(), 0);
  });

  it('made no request off the broker and logged no error (no CSP violation)', () => {
    for (const w of [requester, approver]) {
      assert.deepEqual(w.foreign, []);
      // The requester's visits to the admin views were refused (403): Chromium logs those.
      const errors = w.logs.filter(
        (l) => l.startsWith('pageerror') || (l.startsWith('error') && !l.includes('status of 403')),
      );
      assert.deepEqual(errors, []);
    }
  });
});
