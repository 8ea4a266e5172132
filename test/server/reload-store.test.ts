// SIGHUP with a `store:` change: the running store stays, the change is named as needing a
// restart (a changed password too, which a Secret does not show to a deep comparison), and
// the password the reloaded file gave is zero-filled at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import { Policy } from '../../src/governance/policy.js';
import { applyReload } from '../../src/server/reload.js';
import { capturedLogger } from '../helpers/logs.js';

const config = (url: string) => parseConfig(`store: "${url}"\naccords: []\n`, '/tmp/b.yaml', {});

describe('reload with a store: section', () => {
  it('names a changed password as needing a restart, and disposes the new one', () => {
    const running = config('postgres://u:first@db.test/b');
    const policy = new Policy(running.accordsById, running.admins);
    const { logger } = capturedLogger();
    for (const [url, expected] of [
      ['postgres://u:first@db.test/b', []],
      ['postgres://u:second@db.test/b', ['store']],
      ['postgres://v:first@db.test/b', ['store']],
    ] as const) {
      const next = config(url);
      assert.deepEqual(applyReload(logger, running, next, policy).needsRestart, expected, url);
      assert.equal(next.store.kind === 'postgres' && next.store.password?.disposed, true);
    }
    assert.equal(running.store.kind === 'postgres' && running.store.password?.disposed, false);
  });
});
