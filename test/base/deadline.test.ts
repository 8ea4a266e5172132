import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { deadline } from '../../src/base/deadline.js';

describe('deadline', () => {
  it('aborts after its time, as a TimeoutError', async () => {
    const d = deadline(20);
    assert.equal(d.signal.aborted, false);
    await sleep(60);
    assert.equal(d.signal.aborted, true);
    assert.equal((d.signal.reason as DOMException).name, 'TimeoutError');
  });

  it('aborts with its outer signal, and not at all once cleared', async () => {
    const outer = new AbortController();
    const d = deadline(10_000, outer.signal);
    outer.abort();
    assert.equal(d.signal.aborted, true);
    const cleared = deadline(20);
    cleared.clear();
    await sleep(60);
    assert.equal(cleared.signal.aborted, false);
    assert.equal(deadline(10_000, AbortSignal.abort()).signal.aborted, true);
  });
});
