/**
 * Which unfinished invocations a sweep marks: only those of a replica whose lease this
 * sweep expired — never the sweeper's own (its lease runs out only while it cannot reach
 * the store, and its invocations are its own to end), never one that names no replica
 * (left to a start, as before replicas).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry } from '../../src/base/audit-records.js';
import { maySweep } from '../../src/audit/interrupted.js';

const start = (replica?: string): AuditEntry => ({
  seq: 1,
  ts: '2026-12-01T00:00:00.000Z',
  type: 'invoke_start',
  invocation_id: 'inv-1',
  prev: '',
  hash: '',
  ...(replica === undefined ? {} : { detail: { replica } }),
});

describe('maySweep', () => {
  const expired = new Set(['r-dead', 'r-self']);
  it('marks the invocations of a replica whose lease the sweep expired', () => {
    assert.equal(maySweep(start('r-dead'), 'r-self', expired), true);
  });
  it('leaves the sweeper’s own, a live replica’s and those naming none', () => {
    assert.equal(maySweep(start('r-self'), 'r-self', expired), false);
    assert.equal(maySweep(start('r-live'), 'r-self', expired), false);
    assert.equal(maySweep(start(), 'r-self', expired), false);
  });
});
