/**
 * The replica sweep's schedule, with its timer injected: every SWEEP_MS (half a lease), one
 * sweep at a time (a tick during a slow sweep does not start another), a count logged and a
 * failure logged without stopping the next tick, and `close` stopping the timer after the
 * sweep in progress. Real sweeps on PostgreSQL: test/replicas/sweep.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LEASE_MS } from '../../src/server/replica.js';
import { type Every, SWEEP_MS, sweepReplicas } from '../../src/server/replica-sweep.js';
import { capturedLogger } from '../helpers/logs.js';

/** A timer the test ticks by hand. */
function manualTimer(): { every: Every; tick: () => void; ms: number[]; stopped: () => boolean } {
  let fn: (() => void) | undefined;
  let stopped = false;
  const ms: number[] = [];
  return {
    every: (f, interval) => {
      fn = f;
      ms.push(interval);
      return () => {
        stopped = true;
      };
    },
    tick: () => fn?.(),
    ms,
    stopped: () => stopped,
  };
}

describe('the replica sweep', () => {
  it('sweeps every half lease, one sweep at a time, and stops at close', async () => {
    const timer = manualTimer();
    const { logger, text } = capturedLogger();
    let calls = 0;
    const pending: ((n: number) => void)[] = [];
    const audit = {
      sweepExpired: () => {
        calls += 1;
        return new Promise<number>((resolve) => pending.push(resolve));
      },
    };
    const sweeper = sweepReplicas(audit, logger, timer.every);
    assert.deepEqual(timer.ms, [SWEEP_MS]);
    assert.equal(SWEEP_MS, LEASE_MS / 2);

    timer.tick();
    timer.tick(); // the first is still running: no second sweep
    assert.equal(calls, 1);
    const closed = sweeper.close();
    assert.equal(timer.stopped(), true);
    let done = false;
    void closed.then(() => (done = true));
    await Promise.resolve();
    assert.equal(done, false, 'close waits for the sweep in progress');
    pending[0]?.(2);
    await closed;
    assert.match(text(), /"interrupted":2/);
  });

  it('logs a failed sweep and sweeps again at the next tick', async () => {
    const timer = manualTimer();
    const { logger, text } = capturedLogger();
    let calls = 0;
    const audit = {
      sweepExpired: () => (calls++ === 0 ? Promise.reject(new Error('down')) : Promise.resolve(0)),
    };
    const sweeper = sweepReplicas(audit, logger, timer.every);
    timer.tick();
    await sweeper.close(); // waits for the failed sweep, logged
    assert.match(text(), /replica sweep failed/);
    timer.tick();
    assert.equal(calls, 2);
    await sweeper.close();
    assert.doesNotMatch(text(), /"interrupted"/, 'nothing marked, nothing said');
  });
});
