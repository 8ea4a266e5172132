/**
 * Command patterns that do not match what they seem to: each trap is found by running the
 * real policy matcher over probe commands, and said with what the pattern does match;
 * patterns that mean what they say are left alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.js';
import {
  describeGlob,
  lintCommandPatterns,
  patternSurprises,
} from '../../src/doctor/command-patterns.js';
import { commandAllowed } from '../../src/governance/accords.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';

describe('doctor: command patterns', () => {
  it('`*rm *` as a deny: misses rm at the start of the line and catches a longer name', () => {
    // What the doctor says is what the broker does.
    const policy = { allow: ['*'], deny: ['*rm *'] };
    assert.equal(commandAllowed(policy, 'rm -rf /'), true);
    assert.equal(commandAllowed(policy, 'confirm x'), false);
    const said = patternSurprises('*rm *', 'deny').join('\n');
    assert.match(said, /does not match "rm x": a leading \* needs a character before it/);
    assert.match(said, /also matches "myrm x": any command whose name ends in rm/);
  });

  it('`reboot *` as a deny: misses the bare command, and the command by path or through sudo', () => {
    const said = patternSurprises('reboot *', 'deny');
    assert.deepEqual(said, [
      'does not match "reboot" alone: a trailing * needs at least one character',
      'does not match "/usr/bin/reboot x": a deny list is easy to go around, prefer an allow list',
      'does not match "sudo reboot x": a deny list is easy to go around, prefer an allow list',
    ]);
  });

  it('`rm*` as an allow: also allows every command whose name starts with rm', () => {
    assert.deepEqual(patternSurprises('rm*', 'allow'), [
      'also allows "rmxx": any command whose name starts with rm',
    ]);
  });

  it('a deny without a wildcard denies one exact line', () => {
    assert.match(patternSurprises('rm -rf /', 'deny')[0] ?? '', /denies that exact line only/);
  });

  it('patterns that mean what they say: no surprise', () => {
    assert.deepEqual(patternSurprises('systemctl status *', 'allow'), []);
    assert.deepEqual(patternSurprises('uptime', 'allow'), []);
    assert.deepEqual(patternSurprises('*', 'allow'), []);
    assert.deepEqual(patternSurprises('*rm *', 'allow').length > 0, true);
  });

  it('says what a pattern matches, token by token', () => {
    assert.equal(
      describeGlob('*rm  *'),
      'one or more characters, then "rm  ", then one or more characters, and nothing else on the line',
    );
    assert.equal(describeGlob('ls ?'), '"ls ", then one character, and nothing else on the line');
  });

  it('per accord: warn with the explanation, ok when nothing surprises, nothing without a policy', () => {
    const alice = generatePrincipalKey().did;
    const accord = (id: string, commands: string) => `
  - id: ${id}
    principals: [${alice}]
    connectors: [ssh]
    targets: [db1.internal.test]
    capabilities: [exec]
    ssh_login: ops
    max_duration: 5m
${commands}`;
    const config = parseConfig(
      `data_dir: /tmp/unused
accords:
${accord('trap', '    commands: { allow: ["ls *"], deny: ["*rm *"] }')}
${accord('fine', '    commands: { allow: ["uptime", "systemctl status *"] }')}
${accord('none', '')}`,
      '/tmp/bastion.yaml',
    );
    const [trap, fine, ...rest] = lintCommandPatterns(config);
    assert.equal(rest.length, 0);
    assert.equal(trap?.id, 'commands.trap');
    assert.equal(trap?.status, 'warn');
    const text = trap?.detail?.join('\n') ?? '';
    assert.match(text, /deny "\*rm \*" matches one or more characters, then "rm ", then/);
    assert.match(text, /note: \* also spans ";" and "&&"/);
    assert.equal(fine?.status, 'ok');
    assert.match(fine?.message ?? '', /2 command patterns match what they seem to/);
  });
});
