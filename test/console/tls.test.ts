/**
 * The web console over the broker's own TLS: the page is served over HTTPS with its CSP,
 * the browser (a secure context there too) signs in by importing a keygen file and makes
 * DPoP calls whose htu is the broker's https URL — the accords list loads. The throwaway
 * CA is not in Chromium's store, so this context ignores certificate errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { CONSOLE_CSP } from '../../src/server/routes/console.js';
import { CHROMIUM_SKIP, launchChromium, openConsole } from '../helpers/browser.js';
import { testCa } from '../helpers/x509.js';
import { ACCORD, type ConsoleWorld, startConsoleWorld } from './world.js';

describe('web console over TLS', { skip: CHROMIUM_SKIP }, () => {
  let world: ConsoleWorld;
  let browser: Browser;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-console-tls-'));
    const ca = testCa();
    const leaf = ca.issue({ ips: ['127.0.0.1'] });
    ca.remove();
    const tls = { cert_file: join(dir, 'cert.pem'), key_file: join(dir, 'key.pem') };
    writeFileSync(tls.cert_file, leaf.certPem);
    writeFileSync(tls.key_file, leaf.keyPem, { mode: 0o600 });
    world = await startConsoleWorld(tls);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await world?.close();
  });

  it('serves the console over HTTPS, and signs API calls for the https URL', async () => {
    assert.match(world.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const w = await openConsole(context, world.url);
    const response = await w.page.reload();
    assert.equal(response?.headers()['content-security-policy'], CONSOLE_CSP);
    assert.equal(await w.page.evaluate<boolean>('window.isSecureContext'), true);
    await w.page.setInputFiles('input[name=keyfile]', world.requesterKeyFile);
    assert.equal(await w.page.textContent('#my-did'), world.requesterDid);
    await w.page.waitForSelector('main[data-view="requests"][data-state="loaded"]');
    assert.equal(await w.page.inputValue('select[name=accord]'), ACCORD);
    assert.deepEqual(w.foreign, []);
  });
});
