/**
 * runArgv against real processes: no shell, a clean environment, bounded output, the
 * wall-time limit killing the whole process group, and clear failures to start. Where a
 * test waits on a process, it awaits a FIFO the process writes (test/helpers/fifo.ts).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import {
  BasculeExecError,
  DEFAULT_PATH,
  runArgv,
  type RunArgvOptions,
} from '../../src/bascule/exec.js';
import type { ExecResult } from '../../src/transports/types.js';
import { makeFifo } from '../helpers/fifo.js';

const limits = { maxOutputBytes: 64 * 1024, timeoutMs: 10_000 };
const dir = mkdtempSync(join(tmpdir(), 'bascule-exec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fifos = 0;

/**
 * Runs a shell that opens a FIFO the test reads, hands it to a background child (`sleep
 * infinity`) as its only writer, prints the child's pid, then runs `rest`; resolves with
 * the result once the FIFO has ended — the child is gone. `timeout` on the test only
 * guards against a hang should it survive: then `t.signal` aborts, and the child is killed
 * here so a failure leaves nothing behind. Nothing is timed.
 */
async function withBackgroundChild(
  t: TestContext,
  rest: string,
  options: RunArgvOptions,
): Promise<ExecResult> {
  const fifo = makeFifo(dir, `background-${++fifos}`, t.signal);
  let pid = 0;
  const kill = (): void => {
    if (pid > 1) process.kill(pid, 'SIGKILL');
  };
  t.signal.addEventListener('abort', kill, { once: true });
  try {
    const script = `exec 3> "$0"; sleep infinity >&3 & exec 3>&-; echo $!; ${rest}`;
    const r = await runArgv(['sh', '-c', script, fifo.path], options);
    pid = Number(r.stdout.trim());
    assert.ok(pid > 1, 'the background child started');
    await fifo.ended;
    return r;
  } finally {
    t.signal.removeEventListener('abort', kill);
    fifo.release();
  }
}

describe('runArgv', () => {
  it('returns stdout, stderr and the exit code', async () => {
    const r = await runArgv(['sh', '-c', 'echo hi; echo err >&2; exit 4'], { limits });
    assert.equal(r.exit_code, 4);
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.timed_out, false);
    assert.equal(r.stdout_truncated, false);
    assert.equal(r.stderr_truncated, false);
    assert.equal(r.signal, undefined);
    assert.ok(r.duration_ms >= 0);
  });

  it('passes argv to the program without a shell', async () => {
    const r = await runArgv(['echo', '$(id)', ';', 'rm', '`id`', '|', '&&', '*'], { limits });
    assert.equal(r.stdout, '$(id) ; rm `id` | && *\n');
    assert.equal(r.exit_code, 0);
  });

  it('builds the environment from nothing', async () => {
    const saved = { ...process.env };
    process.env['LD_PRELOAD'] = '/nonexistent.so';
    process.env['LD_LIBRARY_PATH'] = '/nonexistent';
    process.env['NODE_OPTIONS'] = '--require /nonexistent.js';
    process.env['FOO_SECRET'] = 'x';
    try {
      const r = await runArgv(['env'], { limits, cwd: dir, pathEnv: '/usr/bin:/bin' });
      assert.equal(r.exit_code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').sort();
      assert.deepEqual(lines, [`HOME=${dir}`, 'LANG=C.UTF-8', 'PATH=/usr/bin:/bin']);
      const d = await runArgv(['env'], { limits });
      assert.ok(d.stdout.includes(`PATH=${DEFAULT_PATH}\n`));
      assert.ok(d.stdout.includes('HOME=/\n'));
    } finally {
      process.env = saved;
    }
  });

  it('looks argv[0] up in the configured PATH and runs in cwd', async () => {
    const bin = join(dir, 'bin');
    rmSync(bin, { recursive: true, force: true });
    writeFileSync(join(dir, 'marker'), '');
    const script = join(dir, 'whereami');
    writeFileSync(script, '#!/bin/sh\npwd\n');
    chmodSync(script, 0o755);
    const r = await runArgv(['whereami'], { limits, cwd: dir, pathEnv: `${dir}:/usr/bin:/bin` });
    assert.equal(r.stdout, `${dir}\n`);
    await assert.rejects(runArgv(['whereami'], { limits, cwd: dir }), {
      code: 'bascule_command_not_found',
    });
  });

  it('feeds stdin, and EOF when there is none', async () => {
    const r = await runArgv(['cat'], { limits, stdin: Buffer.from('hello\nworld') });
    assert.equal(r.stdout, 'hello\nworld');
    const empty = await runArgv(['cat'], { limits });
    assert.equal(empty.stdout, '');
    assert.equal(empty.exit_code, 0);
  });

  it('keeps the first N bytes of each stream and drains the rest', async () => {
    const r = await runArgv(
      [
        'sh',
        '-c',
        'head -c 300000 /dev/zero | tr "\\0" a; head -c 5000 /dev/zero | tr "\\0" b >&2',
      ],
      { limits: { maxOutputBytes: 1000, timeoutMs: 10_000 } },
    );
    assert.equal(r.exit_code, 0);
    assert.equal(r.stdout, 'a'.repeat(1000));
    assert.equal(r.stderr, 'b'.repeat(1000));
    assert.equal(r.stdout_truncated, true);
    assert.equal(r.stderr_truncated, true);
    const exact = await runArgv(['printf', 'abcd'], {
      limits: { maxOutputBytes: 4, timeoutMs: 5000 },
    });
    assert.equal(exact.stdout, 'abcd');
    assert.equal(exact.stdout_truncated, false);
  });

  it('kills the whole process group at the wall-time limit', { timeout: 30_000 }, async (t) => {
    const r = await withBackgroundChild(t, 'exec sleep infinity', {
      limits: { maxOutputBytes: 1000, timeoutMs: 300 },
    });
    assert.equal(r.timed_out, true);
    assert.equal(r.exit_code, null);
    assert.equal(r.signal, 'SIGKILL');
  });

  it('kills what a command leaves behind when it exits', { timeout: 30_000 }, async (t) => {
    const r = await withBackgroundChild(t, 'exit 0', { limits });
    assert.equal(r.exit_code, 0);
    assert.equal(r.timed_out, false);
  });

  it('stops on abort', async (t) => {
    const started = makeFifo(dir, 'abort', t.signal);
    const controller = new AbortController();
    // Aborted once the command runs; were the abort ignored, the 10 s limit would end it.
    void started.line.then(() => controller.abort());
    try {
      const r = await runArgv(
        ['sh', '-c', 'echo started > "$0"; exec sleep infinity', started.path],
        { limits, signal: controller.signal },
      );
      assert.equal(r.exit_code, null);
      assert.equal(r.timed_out, false);
      assert.equal(r.signal, 'SIGKILL');
    } finally {
      started.release();
    }
  });

  it('refuses an argv that cannot be exec’d as is', async () => {
    for (const argv of [[], [''], ['echo', 'a\0b'], ['ec\0ho']]) {
      await assert.rejects(runArgv(argv, { limits }), (err: unknown) => {
        assert.ok(err instanceof BasculeExecError);
        assert.equal(err.code, 'bascule_argv_invalid');
        assert.equal(err.status, 400);
        return true;
      });
    }
  });

  it('reports a command that is not found, or cannot be started', async () => {
    await assert.rejects(runArgv(['no-such-command-bascule'], { limits }), (err: unknown) => {
      assert.ok(err instanceof BasculeExecError);
      assert.equal(err.code, 'bascule_command_not_found');
      assert.equal(err.status, 404);
      assert.equal(err.message, 'The command was not found');
      return true;
    });
    const notExecutable = join(dir, 'plain');
    writeFileSync(notExecutable, 'echo hi\n');
    chmodSync(notExecutable, 0o644);
    await assert.rejects(runArgv([notExecutable], { limits }), {
      code: 'bascule_exec_failed',
    });
  });
});
