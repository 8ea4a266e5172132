// The `store:` section and $BASTION_DATABASE_URL: SQLite by default, a PostgreSQL URL from
// the file or (winning) the environment, the password taken out of the URL into a Secret
// (so no config object, log or error shows it), a warning when the file holds it, and
// `password_file` / `ca_file`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/base/errors.js';
import { parseConfig } from '../../src/config/config.js';
import { PASSWORD_IN_FILE_WARNING } from '../../src/config/store.js';
import type { StoreSettings } from '../../src/store/open.js';

const dir = mkdtempSync(join(tmpdir(), 'bastion-store-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PASSWORD = 'hunter2-Zq9';
const yaml = (store?: string): string =>
  `${store === undefined ? '' : `store: ${store}\n`}accords: []\n`;
const parse = (store?: string, env: NodeJS.ProcessEnv = {}) =>
  parseConfig(yaml(store), join(dir, 'bastion.yaml'), env);

function postgres(settings: StoreSettings) {
  assert.equal(settings.kind, 'postgres');
  if (settings.kind !== 'postgres') throw new Error('unreachable');
  return settings;
}

/** No rendering of the configuration holds the password. */
function showsNoPassword(value: unknown): void {
  for (const text of [JSON.stringify(value), inspect(value, { depth: 10 }), String(value)]) {
    assert.equal(text.includes(PASSWORD), false, text);
  }
}

describe('store: in the configuration', () => {
  it('is SQLite in data_dir by default, or when it says sqlite', () => {
    assert.deepEqual(parse().store, { kind: 'sqlite' });
    assert.deepEqual(parse('sqlite').store, { kind: 'sqlite' });
  });

  it('takes the password out of a postgres:// URL into a Secret, and warns it is in the file', () => {
    const config = parse(`"postgres://bastion:${encodeURIComponent(PASSWORD)}%40x@db.test:5432/b"`);
    const store = postgres(config.store);
    assert.equal(store.url, 'postgres://bastion@db.test:5432/b');
    assert.equal(
      store.password?.use((b) => b.toString()),
      `${PASSWORD}@x`,
    );
    assert.deepEqual(config.warnings, [PASSWORD_IN_FILE_WARNING]);
    showsNoPassword(config);
  });

  it('lets $BASTION_DATABASE_URL win over the file, with no warning for its password', () => {
    const config = parse('postgres://file@db.test/b', {
      BASTION_DATABASE_URL: `postgres://env:${PASSWORD}@other.test/c`,
    });
    const store = postgres(config.store);
    assert.equal(store.url, 'postgres://env@other.test/c');
    assert.equal(
      store.password?.use((b) => b.toString()),
      PASSWORD,
    );
    assert.deepEqual(config.warnings, []);
    showsNoPassword(config);
    // And over the default: no store: in the file at all.
    assert.equal(
      postgres(parse(undefined, { BASTION_DATABASE_URL: 'postgres://h/d' }).store).url,
      'postgres://h/d',
    );
  });

  it('reads password_file (a final newline dropped) and ca_file', () => {
    writeFileSync(join(dir, 'pw'), `${PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'ca.pem'), 'PEM TEXT');
    const config = parse(
      '{ url: "postgres://bastion@db.test/b", password_file: pw, ca_file: ca.pem, max_connections: 4 }',
    );
    const store = postgres(config.store);
    assert.equal(
      store.password?.use((b) => b.toString()),
      PASSWORD,
    );
    assert.deepEqual(store.ssl, { ca: 'PEM TEXT' });
    assert.equal(store.maxConnections, 4);
    assert.deepEqual(config.warnings, []);
    showsNoPassword(config);
  });

  it('refuses a password given twice, and a bad URL, without quoting either', () => {
    writeFileSync(join(dir, 'pw2'), 'other');
    const refusals: [string | undefined, NodeJS.ProcessEnv][] = [
      [`{ url: "postgres://u:${PASSWORD}@db.test/b", password_file: pw2 }`, {}],
      [`"mysql://u:${PASSWORD}@db.test/b"`, {}],
      [`"postgres://u:${PASSWORD}@[bad/b"`, {}],
      [undefined, { BASTION_DATABASE_URL: `mysql://u:${PASSWORD}@db.test/b` }],
    ];
    for (const [store, env] of refusals) {
      assert.throws(
        () => parse(store, env),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          showsNoPassword(err);
          assert.equal(err.message.includes(PASSWORD), false);
          return true;
        },
      );
    }
  });
});
