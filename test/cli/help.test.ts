/**
 * The CLI's help and argument errors: every command answers `--help` with its own usage,
 * an unknown flag is named (but nothing that looks like a pasted value), and the invoke
 * command's operation flags are derived from the connectors' operation schemas.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { InvalidArgumentError } from '../../src/base/errors.js';
import { operationFlagsHelp, operationFromFlags } from '../../src/cli/operation-flags.js';
import { USAGES } from '../../src/cli/usage.js';
import { ARGV_ONLY, ARGV_OR_COMMAND } from '../../src/connectors/command/operation.js';
import { HTTP_OPERATION } from '../../src/connectors/http/operation.js';
import type { OperationSpec } from '../../src/connectors/operation.js';
import { connectorRegistry } from '../../src/connectors/registry.js';
import { bastion } from '../helpers/cli.js';
import { newMarker } from '../helpers/leak.js';

describe('bastion <command> --help', () => {
  it('prints each command its own usage, and exits 0', () => {
    for (const name of Object.keys(USAGES).filter((n) => n !== 'help')) {
      for (const flag of ['--help', '-h']) {
        const r = bastion([name, flag]);
        assert.equal(r.status, 0, `${name} ${flag}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^Usage: bastion ${name}\\b`), name);
        assert.doesNotMatch(r.stdout, /^Broker:/m, 'one command, not the whole help');
      }
    }
    assert.match(bastion(['help', 'invoke']).stdout, /^Usage: bastion invoke/);
    assert.equal(bastion(['help', 'nope']).status, 2);
  });

  it('lists every registered connector under invoke, with its derived flags', () => {
    const help = bastion(['invoke', '--help']).stdout;
    for (const plugin of connectorRegistry.list()) {
      assert.ok(help.includes(`${plugin.kind}: ${operationFlagsHelp(plugin.operation)}`));
    }
    assert.match(help, /http: --method GET\|HEAD\|POST\|PUT\|PATCH\|DELETE --path TEXT/);
  });

  it('names an unknown flag and says where help is, never a value', () => {
    const marker = newMarker();
    const r = bastion(['serve', `--bogus=${marker}`]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /Invalid option --bogus \(not an option of this command\); see --help/);
    assert.ok(!r.stderr.includes(marker));
    // A "flag" that looks like a pasted token is not repeated back at all.
    const pasted = bastion(['serve', `--${marker}`]);
    assert.equal(pasted.status, 2);
    assert.ok(!pasted.stderr.includes(marker));
    const missing = bastion(['keygen', '--out']);
    assert.match(missing.stderr, /Invalid option --out \(it takes a value, or takes none\)/);
  });
});

describe('invoke operation flags', () => {
  it('spell each shape the schema accepts', () => {
    assert.equal(
      operationFlagsHelp(ARGV_OR_COMMAND),
      '[--stdin TEXT] -- ARGV... | --command TEXT [--stdin TEXT]',
    );
    assert.equal(operationFlagsHelp(ARGV_ONLY), '[--stdin TEXT] -- ARGV...');
  });

  it('follow a new field of a schema without any CLI change', () => {
    const spec: OperationSpec = {
      schema: z.strictObject({
        mode: z.enum(['fast', 'safe']),
        tags: z.array(z.string()).optional(),
        env: z.record(z.string(), z.string()).optional(),
      }),
      result: z.object({}),
      summary: 'a test operation',
    };
    assert.equal(
      operationFlagsHelp(spec),
      '--mode fast|safe [--tags TEXT...] [--env NAME=VALUE...]',
    );
    assert.deepEqual(
      operationFromFlags(spec, 'test', { mode: 'fast', tags: ['a', 'b'], env: ['A=1=2'] }, []),
      { mode: 'fast', tags: ['a', 'b'], env: { A: '1=2' } },
    );
  });

  it('build the operation, and refuse a flag or words the connector does not take', () => {
    assert.deepEqual(operationFromFlags(ARGV_OR_COMMAND, 'ssh', { stdin: 'x' }, ['id', '-u']), {
      argv: ['id', '-u'],
      stdin: 'x',
    });
    assert.deepEqual(
      operationFromFlags(HTTP_OPERATION, 'http', { method: 'GET', path: '/s', query: ['a=b'] }, []),
      { method: 'GET', path: '/s', query: { a: 'b' } },
    );
    assert.throws(
      () => operationFromFlags(ARGV_ONLY, 'bascule', { command: 'id' }, []),
      (e: unknown) => e instanceof InvalidArgumentError && /--command/.test(e.message),
    );
    assert.throws(
      () => operationFromFlags(HTTP_OPERATION, 'http', { method: 'GET', path: '/' }, ['id']),
      (e: unknown) => e instanceof InvalidArgumentError && /after --/.test(e.message),
    );
    assert.throws(
      () => operationFromFlags(HTTP_OPERATION, 'http', { query: ['novalue'] }, []),
      (e: unknown) => e instanceof InvalidArgumentError && /NAME=VALUE/.test(e.message),
    );
  });
});
