/**
 * `bastion audit export --format jsonl|ocsf|syslog` on a real broker's trail: jsonl is what
 * it always was; every OCSF event has the class its entry kind maps to; a SIEM holding only
 * the OCSF events can recompute the chain and check the checkpoint against the JWKS (and a
 * tampered event, a reordered pair or a forged signature fail that check); the syslog lines
 * carry seq and hash as structured data and the OCSF event as MSG; and no AC token is in
 * any format, by a scan shown to find a marker planted in the trail.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { JSONWebKeySet } from 'jose';
import { AUDIT_TYPES, type AuditEntry } from '../../src/base/audit-records.js';
import { OCSF_MAPPING } from '../../src/audit/siem/ocsf.js';
import { bastionAsync } from '../helpers/cli.js';
import { type TestBroker, startTestBroker } from '../helpers/broker.js';
import { verifyOcsfTrail } from '../helpers/ocsf-verify.js';
import { findIn, needle } from '../helpers/scan.js';

const MARKER = `planted-marker-${randomBytes(12).toString('hex')}`;

async function exported(dataDir: string, format?: string): Promise<string> {
  const args = ['audit', 'export', '--data-dir', dataDir];
  const r = await bastionAsync(format === undefined ? args : [...args, '--format', format]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

describe('audit export for a SIEM', () => {
  let b: TestBroker;
  const tokens: string[] = [];
  let jwks: JSONWebKeySet;
  let entries: AuditEntry[];

  before(async () => {
    b = await startTestBroker();
    const alice = b.client(b.keys.alice);
    for (const target of ['web1.internal.test', 'web2.internal.test']) {
      const issued = await alice.authorize({
        accord: 'ops-exec',
        connector: 'ssh',
        target,
        capabilities: ['read'],
        duration_seconds: 60,
      });
      assert.equal(issued.status, 'active');
      tokens.push(issued.ac);
    }
    // One entry of every kind, so that each mapping row is exercised; one carries a marker.
    for (const type of AUDIT_TYPES) {
      await b.server.audit.append({
        type,
        actor: b.keys.alice.did,
        target: 'web1.internal.test',
        connector: 'ssh',
        invocation_id: 'inv-1',
        outcome: type === 'deny' ? 'accord_denied' : type === 'invoke_end' ? 'ok' : undefined,
        detail: type === 'invoke_start' ? { command: `echo ${MARKER}` } : undefined,
      });
    }
    await b.server.audit.checkpoint();
    jwks = (await (await fetch(`${b.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    entries = await b.server.audit.list({ limit: 1000 });
  });
  after(() => b.close());

  it('keeps jsonl, the default, as it was: each stored entry, JSON.stringify-ed', async () => {
    const text = await exported(b.dataDir);
    assert.equal(text, entries.map((e) => JSON.stringify(e) + '\n').join(''));
    assert.equal(await exported(b.dataDir, 'jsonl'), text);
  });

  it('refuses a format it does not know', async () => {
    const r = await bastionAsync(['audit', 'export', '--data-dir', b.dataDir, '--format', 'cef']);
    assert.equal(r.status, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /cef/);
  });

  it('maps each entry kind to its OCSF class and activity, the checkpoint last', async () => {
    const events = lines(await exported(b.dataDir, 'ocsf')).map(
      (l) => JSON.parse(l) as Record<string, unknown>,
    );
    assert.equal(events.length, entries.length + 1);
    for (const [i, entry] of entries.entries()) {
      const event = events[i] as Record<string, unknown>;
      const row = OCSF_MAPPING[entry.type];
      assert.equal(event['class_uid'], row.cls.class_uid, entry.type);
      assert.equal(event['activity_id'], row.activity_id, entry.type);
      assert.equal(event['type_uid'], row.cls.class_uid * 100 + row.activity_id);
      assert.equal(event['time'], Date.parse(entry.ts));
      assert.deepEqual((event['metadata'] as { sequence: number }).sequence, entry.seq);
    }
    const byType = (t: string) =>
      events.find((e) => (e['message'] as string) === t) as Record<string, unknown>;
    assert.equal(byType('authorize')['class_uid'], 3002);
    assert.equal(byType('credential_issue')['class_uid'], 6003);
    assert.equal(byType('deny')['status_id'], 2);
    assert.equal(byType('deny')['status_code'], 'accord_denied');
    assert.equal(byType('invoke_end')['status_id'], 1);
    assert.equal(byType('authorize')['status_id'], 1, 'an issued AC is a success');
    assert.equal(byType('invoke_start')['status_id'], 0);
    const last = events.at(-1) as Record<string, unknown>;
    assert.equal(last['class_uid'], 0);
    assert.equal(last['activity_name'], 'Audit Checkpoint');
  });

  it('lets a SIEM re-verify the chain and the checkpoint from the OCSF events alone', async () => {
    const events = lines(await exported(b.dataDir, 'ocsf')).map(
      (l) => JSON.parse(l) as Record<string, unknown>,
    );
    assert.deepEqual(await verifyOcsfTrail(events, jwks), {
      entries: entries.length,
      checkpoints: 1,
    });
    // The same check fails on an edited event, a reordered pair, and a forged signature.
    const edited = structuredClone(events);
    const entry = (edited[3] as { unmapped: { bastion: { entry: Record<string, unknown> } } })
      .unmapped.bastion.entry;
    entry['target'] = 'elsewhere.internal.test';
    await assert.rejects(verifyOcsfTrail(edited, jwks), /hash does not match/);
    const swapped = [...events];
    [swapped[1], swapped[2]] = [
      swapped[2] as Record<string, unknown>,
      swapped[1] as Record<string, unknown>,
    ];
    await assert.rejects(verifyOcsfTrail(swapped, jwks), /chain broken/);
    const forged = structuredClone(events);
    const cp = (forged.at(-1) as { unmapped: { bastion: { checkpoint: { jws: string } } } })
      .unmapped.bastion.checkpoint;
    const [h, p, s] = cp.jws.split('.') as [string, string, string];
    cp.jws = `${h}.${p}.${s.startsWith('A') ? 'B' : 'A'}${s.slice(1)}`;
    await assert.rejects(verifyOcsfTrail(forged, jwks));
    // Against another broker's keys it fails too.
    const other = {
      keys: jwks.keys.map((k) => ({ ...k, x: Buffer.alloc(32, 7).toString('base64url') })),
    };
    await assert.rejects(verifyOcsfTrail(events, other));
  });

  it('writes RFC 5424 lines: seq, hash and prev as structured data, the OCSF event as MSG', async () => {
    const ocsf = lines(await exported(b.dataDir, 'ocsf'));
    const syslog = lines(await exported(b.dataDir, 'syslog'));
    assert.equal(syslog.length, ocsf.length);
    const rfc5424 =
      /^<(\d{1,3})>1 (\S+) (\S+) bastion (\d+) (\S+) \[bastion@32473 seq="(\d+)" hash="([0-9a-f]{64})" (?:prev="([0-9a-f]{64})"|kid="([^"]+)")\] \ufeff(.*)$/u;
    for (const [i, line] of syslog.entries()) {
      const m = rfc5424.exec(line);
      assert.ok(m, `line ${i} is RFC 5424 as Bastion writes it`);
      assert.equal(m[10], ocsf[i]);
      const entry = entries[i];
      if (entry !== undefined) {
        assert.equal(m[2], entry.ts);
        assert.equal(m[5], entry.type);
        assert.equal(Number(m[6]), entry.seq);
        assert.equal(m[7], entry.hash);
        // Facility 13 (log audit); warning for a refusal or an error, else informational.
        const failed =
          entry.type === 'deny' || !['ok', 'active', undefined].includes(entry.outcome);
        assert.equal(m[1], failed ? '108' : '110');
      } else {
        assert.equal(m[5], 'checkpoint');
      }
    }
  });

  it('holds no AC token in any format (a scan that finds the planted marker)', async () => {
    for (const format of ['jsonl', 'ocsf', 'syslog']) {
      const text = Buffer.from(await exported(b.dataDir, format));
      assert.deepEqual(findIn(text, [needle('marker', MARKER)]), ['marker'], format);
      const acs = tokens.map((t, i) => needle(`ac ${i}`, t));
      // Each token's signature alone, too: it is what makes a token usable.
      const sigs = tokens.map((t, i) => needle(`ac ${i} signature`, t.split('.')[2] as string));
      assert.deepEqual(findIn(text, [...acs, ...sigs]), [], format);
    }
  });
});
