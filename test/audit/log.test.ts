/**
 * AuditLog against a real SQLite store and real broker keys: each append lands in the
 * store and as one line on the sink (0600), concurrent appends keep one chain, any store or
 * sink failure is AuditUnavailableError (fail closed), checkpoints are signed JWS kept in
 * both places and, when configured, on a witness file elsewhere, and interrupted
 * invocations are found and marked.
 */
import assert from 'node:assert/strict';
import {
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  mkdirSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GENESIS, auditHash, canonicalJson } from '../../src/base/audit-chain.js';
import { AuditUnavailableError } from '../../src/audit/errors.js';
import { AuditLog, CHECKPOINT_TYP } from '../../src/audit/log.js';
import { AUDIT_SINK_FILE } from '../../src/audit/sink.js';
import type { AuditEntry } from '../../src/base/audit-records.js';
import { checkpointValid } from '../../src/audit/checkpoint-check.js';
import { ManualClock } from '../../src/base/clock.js';
import { ConfigError, InvalidArgumentError } from '../../src/base/errors.js';
import { BrokerKeyring } from '../../src/governance/keyring.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { capturedLogger } from '../helpers/logs.js';
import { newMarker } from '../helpers/leak.js';
import { withMethods, withoutJournal } from '../helpers/with-methods.js';
import { spyDurableWrites } from '../helpers/durable-write-spy.js';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-audit-'));
  roots.push(dir);
  return dir;
}

interface Setup {
  dir: string;
  store: SqliteStore;
  keyring: BrokerKeyring;
  clock: ManualClock;
  log: AuditLog;
  logs: ReturnType<typeof capturedLogger>;
  sinkLines: () => unknown[];
  done: () => Promise<void>;
}

/** The open flags of this process's descriptors on `file` (Linux's /proc, octal there). */
function openFlags(file: string): number[] {
  const flags: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (readdir's own descriptor)
    }
    if (target !== realpathSync(file)) continue;
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    flags.push(parseInt(/^flags:\s*([0-7]+)$/m.exec(info)?.[1] ?? '0', 8));
  }
  return flags;
}

async function setup(
  options: {
    store?: Store;
    checkpointIntervalMs?: number;
    dir?: string;
    witnessFile?: string;
  } = {},
): Promise<Setup> {
  const dir = options.dir ?? tempDir();
  const store = SqliteStore.open({ dataDir: dir });
  const keyring = await BrokerKeyring.open(dir, T0);
  const clock = new ManualClock(T0);
  const logs = capturedLogger();
  const log = await AuditLog.open({
    store: options.store ?? store,
    dataDir: dir,
    signer: () => keyring.signer,
    clock,
    logger: logs.logger,
    checkpointIntervalMs: options.checkpointIntervalMs,
    witnessFile: options.witnessFile,
  });
  return {
    dir,
    store,
    keyring,
    clock,
    log,
    logs,
    sinkLines: () =>
      readFileSync(join(dir, AUDIT_SINK_FILE), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as unknown),
    done: async () => {
      await log.close();
      await store.close();
    },
  };
}

/** `store` with its insertAuditEntries replaced; every other method is the real one. */
function withAppend(store: SqliteStore, insert: Store['insertAuditEntries']): Store {
  return withMethods<Store>(store, { insertAuditEntries: insert });
}

const isUnavailable = (e: unknown): boolean =>
  e instanceof AuditUnavailableError &&
  e.code === 'audit_unavailable' &&
  e.status === 503 &&
  e.message === 'The audit trail is unavailable';

describe('AuditLog: append', () => {
  // umask 0o277 narrows the modes asked of mkdir and open: the chmods must restore them.
  it('writes the entry to the store and as one canonical line to a 0600 sink in a 0700 directory', async () => {
    const old = process.umask(0o277);
    let s: Setup;
    try {
      s = await setup();
    } finally {
      process.umask(old);
    }
    const e1 = await s.log.append({ type: 'authorize', actor: 'did:key:a', ac_id: 'ac-1' });
    s.clock.advance(1500);
    const e2 = await s.log.append({ type: 'approve', actor: 'did:key:b', detail: { n: 1 } });
    assert.equal(e1.ts, new Date(T0).toISOString());
    assert.equal(e2.ts, new Date(T0 + 1500).toISOString());
    assert.equal(e1.prev, GENESIS);
    assert.equal(e2.prev, e1.hash);
    assert.equal(auditHash(e2), e2.hash);
    assert.deepEqual(await s.log.list(), [e1, e2]);
    assert.deepEqual(await s.log.list({ did: 'did:key:b' }), [e2]);
    const file = join(s.dir, AUDIT_SINK_FILE);
    assert.equal(readFileSync(file, 'utf8'), canonicalJson(e1) + '\n' + canonicalJson(e2) + '\n');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(s.dir, 'audit')).mode & 0o777, 0o700);
    await s.done();
  });

  // The sink's one write is its durable point: without O_SYNC it would return before the
  // line is on disk, and an append would be acknowledged before it is durable.
  it('opens the sink and the witness O_SYNC (Linux: read from /proc)', async (t) => {
    if (!existsSync('/proc/self/fdinfo')) return t.skip('no /proc/self/fdinfo');
    const witnessFile = join(tempDir(), 'witness.jsonl');
    const s = await setup({ witnessFile });
    try {
      for (const file of [join(s.dir, AUDIT_SINK_FILE), witnessFile]) {
        const flags = openFlags(file);
        assert.equal(flags.length, 1, 'one descriptor on the file');
        assert.equal((flags[0] ?? 0) & constants.O_SYNC, constants.O_SYNC, file);
      }
    } finally {
      await s.done();
    }
  });

  it('writes the sink (O_SYNC: durable when written) before an append resolves', async () => {
    const s = await setup();
    for (let i = 1; i <= 3; i++) {
      await s.log.append({ type: 'deny' });
      assert.equal(s.sinkLines().length, i);
    }
    await s.done();
  });

  it('writes the sink itself, durably, before a store that does not append it commits', async () => {
    const dir = tempDir();
    const real = SqliteStore.open({ dataDir: dir });
    const plain = withoutJournal<Store>(real);
    const { calls, restore } = await spyDurableWrites(tempDir());
    try {
      const s = await setup({ dir, store: plain });
      for (let i = 1; i <= 3; i++) {
        await s.log.append({ type: 'deny' });
        assert.equal(calls(), i);
        assert.equal(s.sinkLines().length, i);
      }
      await s.done();
    } finally {
      restore();
      await real.close();
    }
  });

  it('keeps an existing sink (appends, never truncates) and tightens its mode', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'audit'));
    writeFileSync(join(dir, AUDIT_SINK_FILE), '{"old":1}\n', { mode: 0o644 });
    const s = await setup({ dir });
    await s.log.append({ type: 'deny' });
    assert.deepEqual(s.sinkLines()[0], { old: 1 });
    assert.equal(s.sinkLines().length, 2);
    assert.equal(statSync(join(dir, AUDIT_SINK_FILE)).mode & 0o777, 0o600);
    await s.done();
  });

  it('keeps one unbroken chain, in the store and on the sink, under 50 concurrent appends', async () => {
    const s = await setup();
    const appended = await Promise.all(
      Array.from({ length: 50 }, (_, i) => s.log.append({ type: 'deny', outcome: `o${i}` })),
    );
    assert.deepEqual(
      appended.map((e) => e.seq).sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const stored = await s.log.list({ limit: 1000 });
    let prev = GENESIS;
    for (const entry of stored) {
      assert.equal(entry.prev, prev);
      assert.equal(auditHash(entry), entry.hash);
      prev = entry.hash;
    }
    const lines = s.sinkLines() as AuditEntry[];
    assert.deepEqual(lines, stored, 'the sink holds the same entries, in seq order');
    await s.done();
  });

  it('throws AuditUnavailableError when the store is closed, and logs only a code', async () => {
    const s = await setup();
    await s.log.append({ type: 'authorize' });
    await s.store.close();
    const marker = newMarker();
    await assert.rejects(s.log.append({ type: 'deny', outcome: marker }), isUnavailable);
    assert.ok(s.logs.text().includes('"err_code":"store_closed"'), s.logs.text());
    assert.equal(s.logs.text().includes(marker), false);
    // The store's writer appends the sink's lines: a closed store wrote none.
    assert.equal(s.sinkLines().length, 1);
    await s.log.close();
  });

  it('throws AuditUnavailableError when the store write fails', async () => {
    const dir = tempDir();
    const real = SqliteStore.open({ dataDir: dir });
    const failing = withAppend(real, () =>
      Promise.reject(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' })),
    );
    const s = await setup({ dir, store: failing });
    await assert.rejects(s.log.append({ type: 'deny' }), isUnavailable);
    assert.ok(s.logs.text().includes('SQLITE_IOERR'));
    assert.equal(s.logs.text().includes('disk I/O error'), false, 'no error text in the log');
    await s.done();
    await real.close();
  });

  it('passes the store refusal of a secret-named detail through, writing nothing', async () => {
    const s = await setup();
    const marker = newMarker();
    await assert.rejects(
      s.log.append({ type: 'invoke_end', detail: { session_token: marker } }),
      (e: unknown) => e instanceof InvalidArgumentError && !e.message.includes(marker),
    );
    assert.deepEqual(await s.log.list(), []);
    assert.equal(readFileSync(join(s.dir, AUDIT_SINK_FILE), 'utf8'), '');
    await s.done();
  });

  it('writes to stdout when asked, and fails closed when stdout fails', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir });
    const keyring = await BrokerKeyring.open(dir, T0);
    const log = await AuditLog.open({
      store,
      dataDir: dir,
      signer: () => keyring.signer,
      clock: new ManualClock(T0),
      logger: capturedLogger().logger,
      sink: 'stdout',
    });
    const written: string[] = [];
    let fail = false;
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string, cb?: (err?: Error | null) => void) => {
      written.push(chunk);
      queueMicrotask(() => cb?.(fail ? new Error('EPIPE') : null));
      return true;
    }) as typeof process.stdout.write;
    try {
      const entry = await log.append({ type: 'authorize' });
      assert.deepEqual(written, [canonicalJson(entry) + '\n']);
      fail = true;
      await assert.rejects(log.append({ type: 'deny' }), isUnavailable);
      fail = false;
      await log.close();
    } finally {
      process.stdout.write = original;
    }
    // The sink write comes first: an entry the sink refused is not stored either.
    assert.equal((await store.auditHead())?.seq, 1);
    assert.ok(written.at(-1)?.startsWith('{"checkpoint":'), 'close wrote the checkpoint to stdout');
    await store.close();
  });

  it('refuses bad options and a symlink in place of the sink file', async () => {
    const dir = tempDir();
    const store = SqliteStore.open({ dataDir: dir });
    const base = {
      store,
      dataDir: dir,
      signer: () => {
        throw new Error('unused');
      },
      clock: new ManualClock(T0),
      logger: capturedLogger().logger,
    };
    for (const bad of [
      { checkpointIntervalMs: 0 },
      { checkpointIntervalMs: 1.5 },
      { sink: 'syslog' as never },
    ]) {
      await assert.rejects(AuditLog.open({ ...base, ...bad }), ConfigError);
    }
    mkdirSync(join(dir, 'audit'));
    writeFileSync(join(dir, 'elsewhere'), '');
    symlinkSync(join(dir, 'elsewhere'), join(dir, AUDIT_SINK_FILE));
    await assert.rejects(AuditLog.open(base), ConfigError);
    await store.close();
  });
});

describe('AuditLog: checkpoints', () => {
  it('signs the head as an EdDSA JWS kept in the store and on the sink, only when there is news', async () => {
    const s = await setup();
    await s.log.checkpoint();
    assert.equal(await s.store.latestCheckpoint(), undefined, 'nothing to sign yet');
    await s.log.append({ type: 'authorize' });
    const e2 = await s.log.append({ type: 'approve' });
    s.clock.advance(60_000);
    await s.log.checkpoint();
    const cp = await s.store.latestCheckpoint();
    assert.ok(cp !== undefined);
    assert.deepEqual(
      { seq: cp.seq, hash: cp.hash, ts: cp.ts },
      { seq: 2, hash: e2.hash, ts: new Date(T0 + 60_000).toISOString() },
    );
    const [header, payload] = cp.jws
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()) as unknown);
    assert.deepEqual(header, { alg: 'EdDSA', typ: CHECKPOINT_TYP, kid: s.keyring.activeKid });
    assert.deepEqual(payload, { seq: 2, hash: e2.hash, ts: cp.ts });
    assert.equal(checkpointValid(cp, s.keyring.allPublicKeys()), true);
    assert.deepEqual(s.sinkLines().at(-1), { checkpoint: cp });

    await s.log.checkpoint();
    assert.equal(s.sinkLines().length, 3, 'no new entry: no new checkpoint');
    await s.log.append({ type: 'revoke' });
    await s.log.checkpoint();
    assert.equal((await s.store.latestCheckpoint())?.seq, 3);
    await s.done();
  });

  it('signs with the current key after a rotation', async () => {
    const s = await setup();
    await s.log.append({ type: 'authorize' });
    await s.log.checkpoint();
    const { active, retired } = await BrokerKeyring.rotate(s.dir, T0 + 1);
    s.keyring.reload();
    await s.log.append({ type: 'approve' });
    await s.log.checkpoint();
    const cp = await s.store.latestCheckpoint();
    assert.ok(cp !== undefined);
    const header = JSON.parse(Buffer.from(cp.jws.split('.')[0] ?? '', 'base64url').toString()) as {
      kid: string;
    };
    assert.equal(header.kid, active);
    assert.notEqual(active, retired);
    assert.equal(checkpointValid(cp, BrokerKeyring.publicKeysIn(s.dir)), true);
    await s.done();
  });

  it('runs on its timer', async () => {
    const s = await setup({ checkpointIntervalMs: 10 });
    const e = await s.log.append({ type: 'authorize' });
    const deadline = Date.now() + 5000;
    while ((await s.store.latestCheckpoint()) === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await s.store.latestCheckpoint())?.hash, e.hash);
    await s.done();
  });

  it('on close: waits for appends in flight, checkpoints them, then refuses appends; idempotent', async () => {
    const s = await setup();
    const pending = Promise.all([
      s.log.append({ type: 'authorize' }),
      s.log.append({ type: 'approve' }),
    ]);
    const closing = s.log.close();
    const [, last] = await pending;
    await closing;
    await s.log.close();
    assert.deepEqual(
      {
        seq: (await s.store.latestCheckpoint())?.seq,
        hash: (await s.store.latestCheckpoint())?.hash,
      },
      { seq: 2, hash: last.hash },
    );
    await assert.rejects(s.log.append({ type: 'deny' }), isUnavailable);
    assert.equal((await s.store.auditHead())?.seq, 2, 'a refused append writes nothing');
    await s.store.close();
  });

  it('on close: lets an append whose store write is still in flight finish, sink line and all', async () => {
    const dir = tempDir();
    const real = SqliteStore.open({ dataDir: dir });
    // A slow store (PostgreSQL over a network): the write completes after close() began.
    const slow = withAppend(real, (...args) =>
      new Promise((r) => setTimeout(r, 30)).then(() => real.insertAuditEntries(...args)),
    );
    const s = await setup({ dir, store: slow });
    const pending = s.log.append({ type: 'authorize' });
    await s.log.close();
    const entry = await pending;
    assert.deepEqual(s.sinkLines(), [entry, { checkpoint: await real.latestCheckpoint() }]);
    assert.equal((await real.latestCheckpoint())?.seq, entry.seq);
    await s.store.close();
    await real.close();
  });

  it('throws AuditUnavailableError from checkpoint() when the store fails; close still completes', async () => {
    const s = await setup();
    await s.log.append({ type: 'authorize' });
    await s.store.close();
    await assert.rejects(s.log.checkpoint(), isUnavailable);
    await s.log.close();
    assert.ok(s.logs.text().includes('audit checkpoint read failed'));
  });
});

/** The lines of a JSON Lines file, parsed. */
const jsonLines = (file: string): unknown[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);

describe('AuditLog: the witness', () => {
  it('gets every checkpoint, the last at close, fsynced, as the sink has them, and nothing else', async () => {
    const witnessFile = join(tempDir(), 'witness.jsonl');
    writeFileSync(witnessFile, '{"old":1}\n', { mode: 0o644 });
    const { calls, restore } = await spyDurableWrites(tempDir());
    let s: Setup;
    try {
      s = await setup({ witnessFile });
      await s.log.append({ type: 'authorize', actor: 'did:key:a' });
      await s.log.append({ type: 'approve' });
      const [before, sinkBefore] = [calls(), s.sinkLines().length];
      await s.log.checkpoint();
      // The sink's line by the store's writer (O_SYNC), the witness's by the log.
      assert.equal(s.sinkLines().length - sinkBefore, 1, 'the sink has it');
      assert.equal(calls() - before, 1, 'the witness, written durably');
    } finally {
      restore();
    }
    await s.log.append({ type: 'revoke' });
    await s.log.close();
    const checkpoints = s.sinkLines().filter((l) => 'checkpoint' in (l as object));
    assert.equal(checkpoints.length, 2);
    assert.deepEqual(
      jsonLines(witnessFile),
      [{ old: 1 }, ...checkpoints],
      'appended, never truncated',
    );
    assert.deepEqual(
      checkpoints.map((l) => Object.keys((l as { checkpoint: object }).checkpoint).sort()),
      [
        ['hash', 'jws', 'seq', 'ts'],
        ['hash', 'jws', 'seq', 'ts'],
      ],
      'public metadata only',
    );
    assert.equal((await s.store.latestCheckpoint())?.seq, 3);
    assert.equal(statSync(witnessFile).mode & 0o777, 0o600);
    await s.store.close();
  });

  it('refuses a witness inside the data directory, in a directory that does not exist, or a symlink', async () => {
    const dir = tempDir();
    const elsewhere = tempDir();
    writeFileSync(join(elsewhere, 'target'), '');
    symlinkSync(join(elsewhere, 'target'), join(elsewhere, 'link'));
    for (const witnessFile of [
      join(dir, 'witness.jsonl'),
      join(dir, 'audit', 'audit.jsonl'),
      dir,
      join(elsewhere, 'no-such-mount', 'witness.jsonl'),
      join(elsewhere, 'link'),
      elsewhere,
    ]) {
      await assert.rejects(setup({ dir, witnessFile }), ConfigError, witnessFile);
    }
    assert.equal(existsSync(join(elsewhere, 'no-such-mount')), false, 'no directory made');
    // Control: the same data directory with a witness elsewhere opens.
    const s = await setup({ dir, witnessFile: join(elsewhere, 'witness.jsonl') });
    await s.done();
  });

  it('a failed witness write fails checkpoint() (logged by code), after the store and sink have it', async () => {
    const s = await setup({ witnessFile: join(tempDir(), 'witness.jsonl') });
    await s.log.append({ type: 'deny' });
    // The sink's line comes first (by the store's writer), then the witness's: fail that.
    const { calls, restore } = await spyDurableWrites(tempDir(), 1);
    try {
      await assert.rejects(s.log.checkpoint(), isUnavailable);
    } finally {
      restore();
    }
    assert.equal(calls(), 1);
    const cp = await s.store.latestCheckpoint();
    assert.equal(cp?.seq, 1);
    assert.deepEqual(s.sinkLines().at(-1), { checkpoint: cp });
    assert.ok(s.logs.text().includes('audit witness write failed'));
    assert.ok(s.logs.text().includes('EIO'));
    assert.equal(s.logs.text().includes('disk gone'), false, 'a code, never the text');
    await s.done();
  });
});

describe('AuditLog: interrupted invocations', () => {
  it('finds invocations without an end and marks each once', async () => {
    const s = await setup();
    await s.log.append({ type: 'invoke_start', invocation_id: 'i1', ac_id: 'ac-1' });
    const open2 = await s.log.append({
      type: 'invoke_start',
      invocation_id: 'i2',
      ac_id: 'ac-2',
      actor: 'did:key:a',
      connector: 'ssh',
      target: 'db1.internal.test',
    });
    await s.log.append({ type: 'credential_issue', invocation_id: 'i2' });
    await s.log.append({ type: 'invoke_end', invocation_id: 'i1', outcome: 'ok' });
    const open3 = await s.log.append({ type: 'invoke_start', invocation_id: 'i3' });
    assert.deepEqual(await s.log.interrupted(), [open2, open3]);

    // The broker stops with invocations in flight (a crash leaves them so too: closing adds
    // only a checkpoint, and frees the trail for the next broker), which marks them.
    await s.log.close();
    const next = await AuditLog.open({
      store: s.store,
      dataDir: s.dir,
      signer: () => s.keyring.signer,
      clock: s.clock,
      logger: s.logs.logger,
    });
    assert.equal(await next.markInterrupted(), 2);
    const marks = await next.list({ type: 'invoke_interrupted' });
    assert.deepEqual(
      marks.map((m) => ({ ...m, seq: 0, ts: '', prev: '', hash: '' })),
      [
        {
          type: 'invoke_interrupted',
          invocation_id: 'i2',
          ac_id: 'ac-2',
          actor: 'did:key:a',
          connector: 'ssh',
          target: 'db1.internal.test',
          outcome: 'interrupted',
          detail: { start_seq: open2.seq },
          seq: 0,
          ts: '',
          prev: '',
          hash: '',
        },
        {
          type: 'invoke_interrupted',
          invocation_id: 'i3',
          outcome: 'interrupted',
          detail: { start_seq: open3.seq },
          seq: 0,
          ts: '',
          prev: '',
          hash: '',
        },
      ],
    );
    assert.deepEqual(await next.interrupted(), []);
    assert.equal(await next.markInterrupted(), 0);
    await next.close();
    await s.done();
  });
});
