/**
 * runArgv against real processes: no shell, a clean environment, bounded output, the
 * wall-time limit killing the whole process group, and clear failures to start.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BasculeExecError, DEFAULT_PATH, runArgv } from '../../src/bascule/exec.js';

const limits = { maxOutputBytes: 64 * 1024, timeoutMs: 10_000 };
const dir = mkdtempSync(join(tmpdir(), 'bascule-exec-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Running (a zombie waiting for init to reap it is not: it was killed). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/s.test(stat);
  } catch {
    return false;
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

  it('kills the whole process group at the wall-time limit', async () => {
    const started = Date.now();
    const r = await runArgv(['sh', '-c', 'sleep 30 & echo $!; sleep 30'], {
      limits: { maxOutputBytes: 1000, timeoutMs: 300 },
    });
    const elapsed = Date.now() - started;
    assert.equal(r.timed_out, true);
    assert.equal(r.exit_code, null);
    assert.equal(r.signal, 'SIGKILL');
    assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
    const background = Number(r.stdout.trim());
    assert.ok(background > 1);
    assert.equal(alive(process.pid), true, 'the liveness check is blind');
    // The background sleep was in the group too.
    await new Promise((done) => setTimeout(done, 50));
    assert.equal(alive(background), false);
  });

  it('kills what a command leaves behind when it exits', async () => {
    const r = await runArgv(['sh', '-c', 'sleep 30 & echo $!'], { limits });
    assert.equal(r.exit_code, 0);
    assert.equal(r.timed_out, false);
    const background = Number(r.stdout.trim());
    await new Promise((done) => setTimeout(done, 50));
    assert.equal(alive(background), false);
  });

  it('stops on abort', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const r = await runArgv(['sleep', '30'], { limits, signal: controller.signal });
    assert.equal(r.exit_code, null);
    assert.equal(r.timed_out, false);
    assert.equal(r.signal, 'SIGKILL');
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
