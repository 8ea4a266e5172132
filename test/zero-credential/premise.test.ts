/**
 * The premise of the proof's memory scan (proof.test.ts): in a process run with
 * MEMORY_FLAGS and MEMORY_ENV, after the full GC of a heap snapshot, a secret that was a JS
 * string and is no longer referenced is nowhere in memory. Were a dead copy left behind,
 * the proof would fail on a credential the broker dropped long before (as it did, now and
 * then, on an STS session token: a signer's temporary string).
 *
 * The case that showed the hole: a string that outlived one GC, then was dropped. With
 * `--clear-free-memory` alone it was still found after the snapshot's GC in every run (on
 * a V8 page nothing swept clean); `--compact-on-every-full-gc` removes it. The control is
 * the same scan finding the same string before the snapshot. The child takes its own
 * snapshot (the same full GC as the probe's) and holds nothing else of note: a second
 * string, or streaming a snapshot out, changes what shares its page and hides the hole.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { waitForLine } from '../helpers/child-broker.js';
import { memoryReadable, needle, scanProcessMemory } from '../helpers/scan.js';
import { MEMORY_ENV, MEMORY_FLAGS } from './memory-flags.js';

/**
 * The child: a random lower-case string made from numbers (no other copy of it), taken
 * through one GC, then dropped; reported in upper case, a form the scan does not look for,
 * so the report leaves no copy of it.
 */
const CHILD = `
const { randomFillSync } = require('node:crypto');
const b = randomFillSync(new Uint8Array(48));
let s = String.fromCharCode(...Array.from(b, (x) => 97 + (x % 26)));
b.fill(0);
globalThis.k = [s];
gc();
console.log('secret ' + s.toUpperCase());
s = undefined;
globalThis.k = null;
for (let i = 0; i < 100000; i++) new Array(100).fill(i);
process.stdin.once('data', (file) => {
  require('node:fs').rmSync(require('node:v8').writeHeapSnapshot(file.toString().trim()));
  console.log('snapshot 1');
});
setInterval(() => {}, 1000);
`;

describe('the premise of the memory scan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-premise-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a dropped secret string is in memory until a snapshot’s full GC, and gone after it', async (t) => {
    const child = spawn(process.execPath, ['--expose-gc', ...MEMORY_FLAGS, '-e', CHILD], {
      env: { ...process.env, ...MEMORY_ENV },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      const secret = (await waitForLine(child, /secret ([A-Z]{48})\n/)).toLowerCase();
      const needles = [needle('dropped secret', secret)];
      const before = scanProcessMemory(child.pid ?? 0, needles, { stack: false });
      if (!memoryReadable(t, before)) return;
      assert.deepEqual(before, ['dropped secret'], 'control: before any full GC it is there');
      const snapshotted = waitForLine(child, /snapshot (1)/);
      child.stdin?.write(`${join(dir, 'child.heapsnapshot')}\n`);
      await snapshotted;
      const after = scanProcessMemory(child.pid ?? 0, needles, { stack: false });
      assert.deepEqual(after, [], 'after the snapshot’s full GC it is gone');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
