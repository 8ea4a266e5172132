/**
 * A broker on a PostgreSQL store named by a URL with a password: it serves, its logs carry
 * the warning that the file holds the password but never the password, its configuration
 * and store settings hold none in their URL, and it keeps a lease and a replica id.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { PASSWORD_IN_FILE_WARNING } from '../../src/config/store.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { startServer } from '../../src/server/app.js';
import { type PgCluster, skipWithoutPostgres, startPostgres } from '../helpers/postgres.js';

const PASSWORD = 'hunter2-Zq9';

describe('a broker on PostgreSQL', { skip: skipWithoutPostgres() }, () => {
  let cluster: PgCluster;
  const dir = mkdtempSync(join(tmpdir(), 'bastion-pg-server-'));
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves, and no log line or setting shows the URL password', async () => {
    const url = new URL(await cluster.createDatabase());
    url.password = PASSWORD; // trust authentication: accepted and ignored by the server
    const alice = generatePrincipalKey();
    const config = parseConfig(
      `listen: 127.0.0.1:0
data_dir: ${join(dir, 'data')}
log_level: info
store: "${url.toString()}"
admins: [${alice.did}]
accords: []
`,
      join(dir, 'bastion.yaml'),
      {},
    );
    let logs = '';
    const logDestination = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs += chunk.toString('utf8');
        done();
      },
    });
    // Keys in the database (the default with PostgreSQL), under a key-encryption key.
    const env = { BASTION_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
    const server = await startServer({ config, logDestination, env });
    try {
      const client = new BastionClient({ url: server.url, key: alice });
      await client.audit();
      assert.equal(server.store.appendAuditChained !== undefined, true);
      assert.ok(existsSync(join(dir, 'data', 'replica-id')));
      // A shared store chains the trail: the replica keeps no sink file.
      assert.equal(existsSync(join(dir, 'data', 'audit', 'audit.jsonl')), false);
    } finally {
      await server.close();
    }
    assert.ok(logs.includes(PASSWORD_IN_FILE_WARNING), logs);
    assert.equal(logs.includes(PASSWORD), false);
    assert.equal(inspect(server.config, { depth: 10 }).includes(PASSWORD), false);
    assert.equal(JSON.stringify(server.config).includes(PASSWORD), false);
  });
});
