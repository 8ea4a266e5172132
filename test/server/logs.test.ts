/**
 * The broker's structured logs: JSON lines that record requests and decisions, and never
 * an AC token or a DPoP proof — checked on a debug-level log, after proving the scan finds
 * a token planted in a log line.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createDpopProof } from '../../src/governance/dpop.js';
import { startTestBroker } from '../helpers/broker.js';

describe('broker logs', () => {
  it('are JSON lines without tokens or proofs', async () => {
    const lines: string[] = [];
    const logs = new Writable({
      write(chunk: Buffer, _e, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const broker = await startTestBroker({ logs, logLevel: 'debug' });
    const secrets: string[] = [];
    try {
      const alice = broker.keys.alice;
      const url = `${broker.url}/governance/authorize/`;
      for (const body of [
        {
          accord: 'ops-exec',
          connector: 'ssh',
          target: 'db1.internal.test',
          capabilities: ['exec'],
          duration_seconds: 60,
        },
        {
          accord: 'ops-exec',
          connector: 'ssh',
          target: 'evil.test',
          capabilities: ['exec'],
          duration_seconds: 60,
        },
      ]) {
        const proof = await createDpopProof({
          privateKey: alice.privateKey,
          publicJwk: alice.publicJwk,
          method: 'POST',
          url,
        });
        secrets.push(proof);
        const r = await fetch(url, {
          method: 'POST',
          headers: { dpop: proof, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const out = (await r.json()) as { ac?: string };
        if (out.ac !== undefined) secrets.push(out.ac);
      }
      assert.equal(secrets.length, 3, 'one AC issued, two proofs sent');
      const id = (
        JSON.parse(Buffer.from(secrets[1]?.split('.')[1] ?? '', 'base64url').toString()) as {
          jti: string;
        }
      ).jti;
      const shown = await broker.client(alice).show(id);
      assert.equal(typeof shown.ac, 'string');
      secrets.push(shown.ac ?? '');
    } finally {
      await broker.close();
    }
    assert.ok(lines.length > 0);
    for (const line of lines) JSON.parse(line);
    const text = lines.join('\n');
    assert.match(text, /"event":"authorize"/, 'decisions are logged');
    assert.match(text, /incoming request/, 'requests are logged');
    // Control: a token planted in a log line is found by the same scan.
    const planted = `${text}\n{"msg":"${secrets[1] ?? ''}"}`;
    assert.ok(secrets.some((s) => planted.includes(s.split('.')[2] ?? s)));
    for (const s of secrets) {
      assert.ok(!text.includes(s), 'a token or proof reached the log');
      assert.ok(!text.includes(s.split('.')[2] ?? s), 'a signature reached the log');
    }
  });
});
