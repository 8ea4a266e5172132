/**
 * Growing the house: a backend kind and a connector kind that exist only in this test are
 * each registered in one line, configured in YAML and used end to end through the real
 * broker over HTTP — with no edit to the configuration loader, the server or the routes.
 * The order of `backends:` is the order of resolution, and the dev backend exists only
 * when listed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { systemClock } from '../../src/base/clock.js';
import { backendId } from '../../src/base/fields.js';
import { silentLogger } from '../../src/base/logger.js';
import { ConfigError } from '../../src/base/errors.js';
import { defineBackendPlugin } from '../../src/backends/plugin.js';
import { backendRegistry } from '../../src/backends/registry.js';
import { BastionClient } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import type { Connector } from '../../src/connectors/connector.js';
import { defineConnectorPlugin } from '../../src/connectors/plugin.js';
import { connectorRegistry } from '../../src/connectors/registry.js';
import { Secret } from '../../src/credentials/secret.js';
import type { OAuthCredential } from '../../src/credentials/types.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { startServer, type RunningServer } from '../../src/server/app.js';

const TARGET = 'echo.internal.test';

/** A backend kind of this test only: it issues an OAuth token whose text names it. */
const fixtureBackend = defineBackendPlugin({
  kind: 'fixture',
  summary: 'test fixture: tokens that name the backend that issued them',
  settings: () =>
    z.strictObject(
      { id: backendId, fail: z.boolean({ error: 'must be true or false' }).default(false) },
      { error: 'must be a mapping' },
    ),
  create: (s: { id: string; fail: boolean }) => ({
    id: s.id,
    supportedTypes: ['oauth'] as const,
    resolve(_type, target, ac) {
      if (s.fail) return Promise.reject(new Error('this fixture is told to fail'));
      const credential: OAuthCredential = {
        type: 'oauth',
        target,
        issuedBy: s.id,
        scopedTo: ac.capabilities.join(' '),
        expiresAt: new Date(Date.now() + 60_000),
        accessToken: Secret.fromString(`issued-by-${s.id}`),
        tokenType: 'Bearer',
      };
      return Promise.resolve(credential as never);
    },
    revoke: () => Promise.resolve(),
  }),
});

/** A connector kind of this test only: it answers with the bearer token's issuer. */
const echoOperation = {
  schema: z.strictObject({ say: z.string().max(64).describe('What to echo') }),
  result: z.object({ said: z.string(), issued_by: z.string(), timed_out: z.boolean() }),
  summary: '{say}: echoes it, with the backend that issued the credential',
};
const echoConnector = defineConnectorPlugin({
  kind: 'echo',
  summary: 'test fixture: echoes the operation',
  operation: echoOperation,
  settings: () => z.strictObject({ prefix: z.string().default('') }),
  create: (s: { prefix: string }): Connector<{ say: string }> => ({
    name: 'echo',
    credentialType: 'oauth',
    operation: echoOperation,
    parseOperation: (raw) => echoOperation.schema.parse(raw),
    requiredCapabilities: () => ['read'],
    commandLine: () => undefined,
    describe: (op) => `echo ${op.say}`,
    auditDetail: () => ({}),
    run: (ctx) =>
      Promise.resolve({
        said: s.prefix + ctx.operation.say,
        issued_by: ctx.credential.issuedBy,
        timed_out: false,
      }),
  }),
});

// The one line each that adds a kind.
backendRegistry.register(fixtureBackend);
connectorRegistry.register(echoConnector);

const alice = generatePrincipalKey();
const deps = { clock: systemClock, logger: silentLogger };

function yaml(dataDir: string, backends: string): string {
  return `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: silent
connectors:
  echo: { prefix: "echo: " }
backends:
${backends}
accords:
  - id: echo
    principals: [${alice.did}]
    connectors: [echo]
    targets: ["${TARGET}"]
    capabilities: [read]
    max_duration: 15m
`;
}

async function brokerWith(backends: string): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-plugins-'));
  return startServer({
    config: parseConfig(yaml(join(dir, 'data'), backends), join(dir, 'bastion.yaml')),
    logDestination: false,
  });
}

const dataDirOf = (server: RunningServer): string => server.config.data_dir;

/** alice's client, and an active echo AC for her. */
async function echoAc(server: RunningServer): Promise<{ client: BastionClient; ac: string }> {
  const client = new BastionClient({ url: server.url, key: alice });
  const issued = await client.authorize({
    accord: 'echo',
    connector: 'echo',
    target: TARGET,
    capabilities: ['read'],
    duration_seconds: 60,
  });
  if (issued.status !== 'active') throw new Error('expected an active AC');
  return { client, ac: issued.ac };
}

async function echo(server: RunningServer): Promise<{ said: string; issued_by: string }> {
  const { client, ac } = await echoAc(server);
  const reply = await client.invoke<{ said: string; issued_by: string; timed_out: boolean }>(
    'echo',
    ac,
    { target: TARGET, operation: { say: 'hello' } },
  );
  return reply.result;
}

describe('a backend kind and a connector kind added by registration alone', () => {
  let server: RunningServer;
  before(async () => {
    server = await brokerWith('  - kind: fixture\n    id: fx-one\n');
  });
  after(() => server.close());

  it('are configured in YAML and used end to end over HTTP', async () => {
    assert.deepEqual(await echo(server), {
      said: 'echo: hello',
      issued_by: 'fx-one',
      timed_out: false,
    });
    const ends = await server.audit.list({ type: 'invoke_end' });
    assert.equal(ends.at(-1)?.outcome, 'ok');
    assert.equal(ends.at(-1)?.detail?.['backend'], 'fx-one');
  });

  it('get a route and an OpenAPI entry from the connector operation schema', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    assert.ok('/connectors/echo/invoke' in doc.paths);
    const { client, ac } = await echoAc(server);
    await assert.rejects(
      client.invoke('echo', ac, { target: TARGET, operation: { shout: 'x' } }),
      (e: unknown) => (e as { code?: string }).code === 'invalid_request',
    );
  });

  it("have their settings checked by their own schema, errors naming the entry's place", () => {
    const bad = yaml('/tmp/x', '  - kind: fixture\n    id: fx\n    fail: perhaps\n');
    assert.throws(
      () => parseConfig(bad, 'c.yaml'),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === 'Invalid configuration at c.yaml: backends[0].fail: must be true or false',
    );
    const unknown = yaml('/tmp/x', '  - kind: vaultt\n');
    assert.throws(
      () => parseConfig(unknown, 'c.yaml'),
      (e: unknown) =>
        e instanceof ConfigError &&
        /backends\[0\]\.kind: must be one of oauth_exchange, entra, vault, aws_sts, spire, kerberos, dev, bascule, fixture$/.test(
          e.message,
        ),
    );
  });
});

describe('startServer takes ready-made connectors beside the registered kinds', () => {
  it('serves one given to it, and refuses a name already taken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bastion-plugins-'));
    const config = parseConfig(
      yaml(join(dir, 'data'), '  - kind: fixture\n    id: fx\n').replace(
        'connectors: [echo]',
        'connectors: [echo, shout]',
      ),
      join(dir, 'bastion.yaml'),
    );
    const shout = { ...echoConnector.create({ prefix: '' }, deps), name: 'shout' };
    const server = await startServer({ config, connectors: [shout], logDestination: false });
    try {
      assert.deepEqual([...server.connectors.keys()], ['ssh', 'bascule', 'http', 'echo', 'shout']);
      const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      assert.ok('/connectors/shout/invoke' in doc.paths);
    } finally {
      await server.close();
    }
    const taken = { ...shout, name: 'ssh' };
    await assert.rejects(
      startServer({ config, connectors: [taken], logDestination: false }),
      /connector ssh is defined twice/,
    );
  });
});

describe('backends: the order written is the order tried', () => {
  const two = (first: string, second: string, failFirst = false) =>
    `  - kind: fixture\n    id: ${first}\n    fail: ${failFirst}\n  - kind: fixture\n    id: ${second}\n`;

  it('in one order and in the other', async () => {
    for (const [first, second] of [
      ['fx-a', 'fx-b'],
      ['fx-b', 'fx-a'],
    ] as const) {
      const server = await brokerWith(two(first, second));
      try {
        assert.deepEqual(server.resolver.backendIds.slice(0, 2), [first, second]);
        assert.equal((await echo(server)).issued_by, first);
      } finally {
        await server.close();
      }
    }
  });

  it('falls through to the next when the first fails', async () => {
    const server = await brokerWith(two('fx-a', 'fx-b', true));
    try {
      assert.equal((await echo(server)).issued_by, 'fx-b');
    } finally {
      await server.close();
    }
  });
});

describe('the dev backend', () => {
  it('is built only when listed, and then says at start it is for development', async () => {
    const without = await brokerWith('  - kind: fixture\n    id: fx\n');
    try {
      assert.equal(without.dev, undefined);
      assert.deepEqual(without.resolver.backendIds, ['fx', 'bascule']);
      assert.equal(existsSync(join(dataDirOf(without), 'dev-ca.pub')), false);
    } finally {
      await without.close();
    }
    const dir = mkdtempSync(join(tmpdir(), 'bastion-plugins-'));
    const config = parseConfig(yaml(join(dir, 'data'), '  - kind: dev\n'), join(dir, 'b.yaml'));
    assert.equal(config.warnings.length, 1);
    assert.match(config.warnings[0] ?? '', /backends\[0\] \(dev\): .*development and tests only/);
    const lines: string[] = [];
    const withDev = await startServer({
      config: { ...config, log_level: 'warn' },
      logDestination: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk.toString('utf8'));
          done();
        },
      }),
    });
    try {
      assert.ok(withDev.dev !== undefined);
      assert.ok(existsSync(join(config.data_dir, 'dev-ca.pub')));
      assert.ok(
        lines.some((l) => /development and tests only/.test(l)),
        'warned at start',
      );
    } finally {
      await withDev.close();
    }
  });
});
