import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandAllowed } from '../../../src/governance/accords.js';
import {
  parseCommandOperation,
  policyCommandLine,
} from '../../../src/connectors/command/operation.js';
import { InvocationDeniedError } from '../../../src/governance/denials.js';
import { InvalidArgumentError } from '../../../src/base/errors.js';

const policy = { commands: { allow: ['*'], deny: ['rm -rf *'] } };

describe('command operations', () => {
  it('reads argv or command, with stdin, and nothing else', () => {
    assert.deepEqual(parseCommandOperation({ argv: ['id'], stdin: 'x' }, { allowCommand: false }), {
      argv: ['id'],
      stdin: 'x',
    });
    assert.deepEqual(parseCommandOperation({ command: 'uptime' }, { allowCommand: true }), {
      command: 'uptime',
    });
    for (const bad of [
      null,
      [],
      { argv: [] },
      { argv: [''] },
      { argv: ['a\0b'] },
      { argv: ['a'], command: 'b' },
      { command: '' },
      { argv: ['a'], extra: 1 },
      { argv: ['a'], stdin: 5 },
    ]) {
      assert.throws(
        () => parseCommandOperation(bad, { allowCommand: true }),
        InvalidArgumentError,
        JSON.stringify(bad),
      );
    }
    assert.throws(
      () => parseCommandOperation({ command: 'id' }, { allowCommand: false }),
      InvalidArgumentError,
    );
  });

  it('refuses, under a policy, an argv whose joined text would be ambiguous', () => {
    const sneaky = { argv: ['rm', '', '-rf', '/x'] };
    // Joined naively it would pass the deny pattern:
    assert.equal(commandAllowed(policy.commands, sneaky.argv.join(' ')), true);
    assert.throws(() => policyCommandLine(sneaky, policy), InvocationDeniedError);
    for (const argv of [
      ['rm', ' -rf', '/x'],
      ['rm', '-rf ', '/x'],
      ['a', 'b  c'],
      ['a', 'b\tc'],
    ]) {
      assert.throws(
        () => policyCommandLine({ argv }, policy),
        InvocationDeniedError,
        JSON.stringify(argv),
      );
    }
    assert.equal(policyCommandLine({ argv: ['rm', '-rf', '/x'] }, policy), 'rm -rf /x');
    assert.equal(commandAllowed(policy.commands, 'rm -rf /x'), false);
    assert.equal(
      policyCommandLine(sneaky, {}),
      'rm  -rf /x',
      'without a policy it is only recorded',
    );
  });
});
