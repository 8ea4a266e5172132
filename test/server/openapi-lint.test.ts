/**
 * /openapi.json passes `redocly lint` (@redocly/openapi-core, its `recommended` rules) with
 * no error and no warning, so that a generated client works: servers, security schemes,
 * an operationId per operation (unique), a description of every response (never Fastify's
 * "Default Response"), and at least one 4XX per operation. One rule is off, for a reason:
 * the seed contract names `POST /governance/authorize/` (and `/governance/revoke/`) with
 * a trailing slash, and DPoP proofs name the URL exactly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

type Doc = {
  servers?: { url: string }[];
  paths: Record<
    string,
    Record<string, { operationId?: string; responses: Record<string, { description?: string }> }>
  >;
};

describe('/openapi.json', () => {
  let broker: TestBroker;
  let text: string;
  before(async () => {
    broker = await startTestBroker();
    text = await (await fetch(`${broker.url}/openapi.json`)).text();
  });
  after(() => broker.close());

  it('is lint clean under redocly’s recommended rules', async () => {
    const config = await createConfig({
      extends: ['recommended'],
      rules: { 'no-path-trailing-slash': 'off' }, // the seed contract's paths (see above)
    });
    const problems = await lintFromString({ source: text, absoluteRef: '/openapi.json', config });
    const shown = problems.map(
      (p) => `${p.severity} ${p.ruleId}: ${p.message} ${p.location[0]?.pointer ?? ''}`,
    );
    assert.deepEqual(shown, []);
  });

  it('finds the problems it is there to find (the linter is not a no-op)', async () => {
    const doc = JSON.parse(text) as Doc;
    const broken = structuredClone(doc);
    delete broken.servers;
    const op = broken.paths['/governance/accords']?.['get'];
    assert.ok(op !== undefined);
    delete op.operationId;
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({
      source: JSON.stringify(broken),
      absoluteRef: '/openapi.json',
      config,
    });
    const rules = new Set(problems.map((p) => p.ruleId));
    for (const rule of ['no-empty-servers', 'operation-operationId', 'no-path-trailing-slash']) {
      assert.ok(rules.has(rule), `${rule} in ${[...rules].join(', ')}`);
    }
  });

  it('names the broker as its server, each operation once, each response in words', () => {
    const doc = JSON.parse(text) as Doc;
    assert.deepEqual(doc.servers, [{ url: broker.url }]);
    const ids = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops).map((op) => op.operationId),
    );
    assert.equal(new Set(ids).size, ids.length, 'unique');
    for (const name of ['authorize', 'approve', 'revoke', 'getAc', 'listAccords', 'invokeSsh'])
      assert.ok(ids.includes(name), name);
    for (const ops of Object.values(doc.paths))
      for (const op of Object.values(ops))
        for (const [status, response] of Object.entries(op.responses))
          assert.ok(
            (response.description ?? 'Default Response') !== 'Default Response',
            `${op.operationId} ${status}`,
          );
  });
});
