/**
 * The web console's serving (`/console/`) and the API it added: every console file comes
 * with the strict CSP and holds no inline script; only the built files are served; the
 * admin listing of live ACs refuses anyone else; approvers see why a request was made.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BrokerError } from '../../src/client/client.js';
import { CONSOLE_CSP, CONSOLE_DIR, readConsoleAssets } from '../../src/server/routes/console.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const prodWrite = {
  accord: 'prod-write',
  connector: 'ssh',
  target: 'db.prod.test',
  capabilities: ['write'],
  duration_seconds: 600,
};

describe('/console/', () => {
  let b: TestBroker;
  before(async () => {
    b = await startTestBroker();
  });
  after(() => b.close());

  it('serves each built file with the strict CSP, nosniff and no referrer', async () => {
    const names = [...readConsoleAssets(CONSOLE_DIR).keys()];
    assert.ok(names.includes('index.html') && names.includes('main.js'), names.join());
    for (const path of ['/console/', ...names.map((n) => `/console/${n}`)]) {
      const r = await fetch(b.url + path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-security-policy'), CONSOLE_CSP, path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer', path);
    }
    assert.match(CONSOLE_CSP, /script-src 'self';/);
    assert.doesNotMatch(CONSOLE_CSP, /unsafe|https?:|\*/);
  });

  it('has no inline script, handler or style, and names only its own files', async () => {
    const html = await (await fetch(`${b.url}/console/`)).text();
    for (const tag of html.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? []) {
      assert.match(tag, /^<script [^>]*src="[a-z-]+\.js"[^>]*><\/script>$/, tag);
    }
    assert.doesNotMatch(html, /\son[a-z]+=|\sstyle=|<style|javascript:/i);
    for (const [, ref] of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      assert.match(ref ?? '', /^[a-z-]+\.(js|css|svg)$/, 'relative, same origin');
    }
  });

  it('redirects /console to /console/ and serves nothing but the built files', async () => {
    const r = await fetch(`${b.url}/console`, { redirect: 'manual' });
    assert.equal(r.status, 308);
    assert.equal(r.headers.get('location'), '/console/');
    for (const path of [
      '/console/missing.js',
      '/console/..%2Fserver%2Fapp.js',
      '/console/%2e%2e%2f%2e%2e%2fpackage.json',
      '/console/types.d.ts',
    ]) {
      const miss = await fetch(b.url + path);
      assert.equal(miss.status, 404, path);
      assert.equal(((await miss.json()) as any).error.code, 'not_found', path);
    }
  });

  it('lists every live AC for an admin only, and only live ones', async () => {
    const alice = b.client(b.keys.alice);
    const active = await alice.authorize({
      accord: 'ops-exec',
      connector: 'ssh',
      target: '127.0.0.1',
      capabilities: ['read'],
      duration_seconds: 60,
    });
    const pending = await alice.authorize(prodWrite);
    const revoked = await alice.authorize({
      accord: 'ops-exec',
      connector: 'ssh',
      target: 'db1.internal.test',
      capabilities: ['read'],
      duration_seconds: 60,
    });
    await alice.revoke(revoked.ac_id);
    const ids = (await b.client(b.keys.admin).liveAcs()).acs.map((ac) => ac.ac_id);
    assert.ok(ids.includes(active.ac_id));
    assert.ok(!ids.includes(pending.ac_id), 'pending is not live');
    assert.ok(!ids.includes(revoked.ac_id), 'revoked is not live');
    for (const who of [b.keys.alice, b.keys.bob]) {
      await assert.rejects(
        b.client(who).liveAcs(),
        (err: unknown) => err instanceof BrokerError && err.code === 'admin_required',
      );
    }
  });

  it('shows an approver why a request was made', async () => {
    const pending = await b
      .client(b.keys.alice)
      .authorize({ ...prodWrite, justification: 'INC-42' });
    const { acs } = await b.client(b.keys.bob).awaitingApproval();
    assert.equal(acs.find((ac) => ac.ac_id === pending.ac_id)?.justification, 'INC-42');
  });
});
