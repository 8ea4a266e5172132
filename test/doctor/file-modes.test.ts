/**
 * File modes on real files with real modes: the data directory 0700, private files 0600
 * and the running user's, the configuration not writable by others. Each loose mode fails
 * (or warns, for a group-writable configuration), and the same file tightened passes.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import type { CheckResult } from '../../src/doctor/check.js';
import { checkFileModes } from '../../src/doctor/file-modes.js';

const root = mkdtempSync(join(tmpdir(), 'bastion-doctor-modes-'));
after(() => rmSync(root, { recursive: true, force: true }));

const statusOf = (results: CheckResult[], id: string) => results.find((r) => r.id === id)?.status;

function world(name: string) {
  const dir = join(root, name);
  const data = join(dir, 'data');
  mkdirSync(join(data, 'keys'), { recursive: true, mode: 0o700 });
  chmodSync(data, 0o700);
  const files = {
    key: join(data, 'keys', 'kid1.pem'),
    kek: join(dir, 'kek'),
    tlsKey: join(dir, 'tls.key'),
    cert: join(dir, 'tls.crt'),
    password: join(dir, 'pgpass'),
    config: join(dir, 'bastion.yaml'),
  };
  for (const file of Object.values(files))
    writeFileSync(file, 'not read by the doctor', { mode: 0o600 });
  const yaml = `data_dir: ./data
key_encryption_key_file: ./kek
tls: { cert_file: ./tls.crt, key_file: ./tls.key }
accords: []
`;
  writeFileSync(files.config, yaml);
  chmodSync(files.config, 0o644);
  const config = parseConfig(yaml, files.config);
  const check = (uid?: number) =>
    checkFileModes({ dataDir: data, config, passwordFile: files.password, uid });
  return { data, files, check };
}

describe('doctor: file modes', () => {
  it('everything tight and ours: ok', () => {
    const w = world('tight');
    const results = w.check();
    assert.deepEqual(
      results.map((r) => [r.id, r.status]),
      [
        ['files.data_dir', 'ok'],
        ['files.config', 'ok'],
        ['files.key.kid1', 'ok'],
        ['files.kek', 'ok'],
        ['files.tls_key', 'ok'],
        ['files.password_file', 'ok'],
      ],
    );
  });

  it('a data directory others can enter fails', () => {
    const w = world('loose-dir');
    chmodSync(w.data, 0o755);
    const r = w.check().find((x) => x.id === 'files.data_dir');
    assert.equal(r?.status, 'fail');
    assert.match(r?.message ?? '', /mode 0755, should be 0700/);
  });

  it('each private file readable by others fails', () => {
    const w = world('loose-files');
    for (const [file, id] of [
      [w.files.key, 'files.key.kid1'],
      [w.files.kek, 'files.kek'],
      [w.files.tlsKey, 'files.tls_key'],
      [w.files.password, 'files.password_file'],
    ] as const) {
      chmodSync(file, 0o640);
      assert.equal(statusOf(w.check(), id), 'fail', id);
      chmodSync(file, 0o600);
      assert.equal(statusOf(w.check(), id), 'ok', id);
    }
  });

  it('a missing private file fails', () => {
    const w = world('missing');
    rmSync(w.files.kek);
    const r = w.check().find((x) => x.id === 'files.kek');
    assert.equal(r?.status, 'fail');
    assert.match(r?.message ?? '', /cannot be read: ENOENT/);
  });

  it('files owned by another user fail', () => {
    const w = world('owner');
    const other = (process.getuid?.() ?? 0) + 1;
    const results = w.check(other);
    assert.equal(statusOf(results, 'files.data_dir'), 'fail');
    assert.equal(statusOf(results, 'files.kek'), 'fail');
    assert.match(results.find((r) => r.id === 'files.kek')?.message ?? '', /not the running user/);
  });

  it('a configuration writable by anyone fails, by its group warns', () => {
    const w = world('config');
    chmodSync(w.files.config, 0o666);
    assert.equal(statusOf(w.check(), 'files.config'), 'fail');
    chmodSync(w.files.config, 0o664);
    assert.equal(statusOf(w.check(), 'files.config'), 'warn');
  });
});
