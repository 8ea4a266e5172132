/**
 * `bastion keys rotate --config` with `signing_keys: database` on SQLite: the command (a
 * child process, as an operator runs it) rotates the keys in the store with the KEK from
 * the environment; the running server re-reads them as SIGHUP makes it (`refresh`) and
 * signs with the new key; without the KEK the command refuses and changes nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { KEK_ENV } from '../../src/governance/key-wrap.js';
import { type RunningServer, startServer } from '../../src/server/app.js';
import { bastionAsync } from '../helpers/cli.js';

describe('bastion keys rotate with the keys in the database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-keys-db-'));
  const file = join(dir, 'bastion.yaml');
  const env = { ...process.env, [KEK_ENV]: randomBytes(32).toString('base64') };
  let server: RunningServer;

  before(async () => {
    writeFileSync(
      file,
      'listen: 127.0.0.1:0\ndata_dir: ./data\nsigning_keys: database\naccords: []\n',
    );
    server = await startServer({ config: loadConfig(file), env, logDestination: false });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads signing_keys and key_encryption_key_file (relative to the file), refusing other homes', () => {
    const other = join(dir, 'other.yaml');
    writeFileSync(other, 'signing_keys: database\nkey_encryption_key_file: ./kek\naccords: []\n');
    const config = loadConfig(other);
    assert.equal(config.signing_keys, 'database');
    assert.equal(config.key_encryption_key_file, join(dir, 'kek'));
    writeFileSync(other, 'signing_keys: vault\naccords: []\n');
    assert.throws(() => loadConfig(other), /signing_keys: must be files or database/);
  });

  it('rotates in the store; the server signs with the new key once it re-reads them', async () => {
    const before = server.keyring.activeKid;
    assert.equal(server.keyring.home, 'database');
    const denied = await bastionAsync(['keys', 'rotate', '--config', file, '--json'], {});
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /key-encryption key/);
    await server.keyring.refresh();
    assert.equal(server.keyring.activeKid, before, 'nothing rotated without the KEK');

    const r = await bastionAsync(['keys', 'rotate', '--config', file, '--json'], env);
    assert.equal(r.status, 0, r.stderr);
    const rotated = JSON.parse(r.stdout) as { active: string; retired: string };
    assert.equal(rotated.retired, before);
    await server.keyring.refresh();
    assert.equal(server.keyring.activeKid, rotated.active);
    assert.equal(server.keyring.signer.kid, rotated.active);
  });
});
