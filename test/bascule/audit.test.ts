/**
 * Bascule's audit file: hash-chained like the broker's (same canonical JSON and hash),
 * 0600, resumed across restarts, and verifiable line by line — an edited, removed or torn
 * line is found and named.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { auditHash, canonicalJson, GENESIS } from '../../src/base/audit-chain.js';
import { BasculeAuditLog, verifyBasculeAudit } from '../../src/bascule/audit.js';
import { ManualClock } from '../../src/base/clock.js';

const dir = mkdtempSync(join(tmpdir(), 'bascule-audit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `audit-${(n += 1)}.jsonl`);
const clock = new ManualClock(Date.UTC(2026, 10, 28, 12, 0, 0));

async function sample(file: string): Promise<void> {
  const log = await BasculeAuditLog.open(file, { clock });
  await log.append({
    type: 'exec_start',
    target: 'web1.internal.test',
    grant_jti: 'g1',
    ac_id: 'ac1',
    principal: 'did:key:z6Mkexample',
    detail: { argv: ['uptime'] },
  });
  await log.append({
    type: 'exec_end',
    target: 'web1.internal.test',
    grant_jti: 'g1',
    outcome: 'ok',
    detail: { exit_code: 0, duration_ms: 3, timed_out: false },
  });
  await log.append({ type: 'deny', target: 'web1.internal.test', outcome: 'ac_expired' });
  await log.close();
}

describe('Bascule audit', () => {
  it('writes canonical, hash-chained lines to a 0600 file', async () => {
    const file = fresh();
    await sample(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 3);
    let prev = GENESIS;
    lines.forEach((line, i) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.equal(line, canonicalJson(entry));
      assert.equal(entry['seq'], i + 1);
      assert.equal(entry['prev'], prev);
      assert.equal(entry['hash'], auditHash(entry));
      assert.equal(entry['ts'], '2026-11-28T12:00:00.000Z');
      prev = entry['hash'];
    });
    const first = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.deepEqual(first['detail'], { argv: ['uptime'] });
    assert.equal(first['grant_jti'], 'g1');
    assert.deepEqual(await verifyBasculeAudit(file), { ok: true, entries: 3, lastHash: prev });
  });

  it('resumes the chain from the last line after a restart', async () => {
    const file = fresh();
    await sample(file);
    const log = await BasculeAuditLog.open(file, { clock });
    assert.equal(log.lastSeq, 3);
    const entry = await log.append({ type: 'deny', outcome: 'bascule_grant_missing' });
    await log.close();
    assert.equal(entry.seq, 4);
    const result = await verifyBasculeAudit(file);
    assert.equal(result.ok, true);
    assert.equal(result.entries, 4);
  });

  it('tightens an existing file to 0600', async () => {
    const file = fresh();
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const log = await BasculeAuditLog.open(file, { clock });
    await log.close();
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('names the first line that was edited, removed or torn', async () => {
    const file = fresh();
    await sample(file);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');

    const edited = fresh();
    writeFileSync(
      edited,
      [lines[0], (lines[1] ?? '').replace('"exit_code":0', '"exit_code":1'), lines[2], ''].join(
        '\n',
      ),
    );
    assert.deepEqual(await verifyBasculeAudit(edited), {
      ok: false,
      line: 2,
      reason: 'hash does not match the entry',
      entries: 1,
    });

    // Re-hashing the edited line does not help: the next line no longer links to it.
    const rehashed = fresh();
    const entry = JSON.parse(lines[1] ?? '') as Record<string, unknown>;
    entry['outcome'] = 'forged';
    entry['hash'] = auditHash(entry);
    writeFileSync(rehashed, [lines[0], canonicalJson(entry), lines[2], ''].join('\n'));
    const r = await verifyBasculeAudit(rehashed);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.line, 3);
    assert.equal(!r.ok && r.reason, 'prev does not link to the previous entry');

    const removed = fresh();
    writeFileSync(removed, [lines[0], lines[2], ''].join('\n'));
    const m = await verifyBasculeAudit(removed);
    assert.equal(!m.ok && m.line, 2);
    assert.equal(!m.ok && m.reason, 'seq out of order');

    const torn = fresh();
    writeFileSync(torn, [lines[0], lines[1], (lines[2] ?? '').slice(0, 20)].join('\n'));
    const t = await verifyBasculeAudit(torn);
    assert.equal(!t.ok && t.line, 3);
  });

  it('will not chain onto a torn or edited last line, nor through a symlink', async () => {
    const file = fresh();
    await sample(file);
    const text = readFileSync(file, 'utf8');
    const torn = fresh();
    writeFileSync(torn, text.slice(0, -10));
    await assert.rejects(BasculeAuditLog.open(torn), { code: 'bascule_audit_corrupt' });

    const edited = fresh();
    writeFileSync(edited, text.replace('ac_expired', 'ac_revoked'));
    await assert.rejects(BasculeAuditLog.open(edited), { code: 'bascule_audit_corrupt' });

    const link = fresh();
    symlinkSync(file, link);
    await assert.rejects(BasculeAuditLog.open(link), { code: 'bascule_audit_unavailable' });
  });

  it('resumes after a very long last line', async () => {
    const file = fresh();
    const log = await BasculeAuditLog.open(file, { clock });
    await log.append({ type: 'exec_start', detail: { argv: ['echo', 'x'.repeat(300_000)] } });
    await log.close();
    const again = await BasculeAuditLog.open(file, { clock });
    await again.append({ type: 'exec_end', outcome: 'ok' });
    await again.close();
    assert.equal((await verifyBasculeAudit(file)).ok, true);
  });

  it('refuses appends once closed', async () => {
    const log = await BasculeAuditLog.open(fresh(), { clock });
    await log.close();
    await assert.rejects(log.append({ type: 'deny', outcome: 'x' }), {
      code: 'bascule_audit_unavailable',
      status: 503,
    });
  });

  it('keeps the order of concurrent appends', async () => {
    const file = fresh();
    const log = await BasculeAuditLog.open(file, { clock });
    const entries = await Promise.all(
      Array.from({ length: 20 }, (_, i) => log.append({ type: 'deny', outcome: `c${i}` })),
    );
    await log.close();
    assert.deepEqual(
      entries.map((e) => e.seq),
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    assert.equal((await verifyBasculeAudit(file)).ok, true);
  });
});
