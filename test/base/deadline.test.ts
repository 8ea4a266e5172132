/**
 * deadline(): an AbortSignal held by a real timer. The tests await the signal's own abort
 * event, and prove a cleared deadline never fires by awaiting a later one: Node runs timers
 * in expiry order, so by the time the later one fires, the earlier would have.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { deadline } from '../../src/base/deadline.js';

describe('deadline', () => {
  it('aborts after its time, as a TimeoutError', async () => {
    const d = deadline(20);
    assert.equal(d.signal.aborted, false);
    await once(d.signal, 'abort');
    assert.equal(d.signal.aborted, true);
    assert.equal((d.signal.reason as DOMException).name, 'TimeoutError');
  });

  it('aborts with its outer signal, and not at all once cleared', async () => {
    const outer = new AbortController();
    const d = deadline(10_000, outer.signal);
    outer.abort();
    assert.equal(d.signal.aborted, true);
    d.clear();
    const cleared = deadline(20);
    cleared.clear();
    const later = deadline(40);
    await once(later.signal, 'abort');
    assert.equal(cleared.signal.aborted, false);
    const born = deadline(10_000, AbortSignal.abort());
    assert.equal(born.signal.aborted, true);
    born.clear();
  });
});
