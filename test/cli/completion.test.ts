/**
 * Shell completion and the flag table it comes from: bash's script, run in a real bash,
 * completes every command, subcommand and flag the commands parse with (flags.ts); zsh's
 * carries the same; every flag is in its command's help and every command takes --json.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { FLAGS, subcommandsOf } from '../../src/cli/flags.js';
import { commandHelp, USAGES } from '../../src/cli/usage.js';
import { bastion } from '../helpers/cli.js';

const script = (shell: string): string => {
  const r = bastion(['completion', shell]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};

/**
 * What bash offers for the words typed so far, the last one being completed. The words go
 * through the environment (none has a space); an empty last word is past the array's end.
 */
function completeIn(bashScript: string, words: string[]): string[] {
  const run = `COMP_WORDS=($BASTION_WORDS); COMP_CWORD=${words.length}
${bashScript}
_bastion; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '-c', run], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', BASTION_WORDS: ['bastion', ...words].join(' ') },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((w) => w !== '');
}

describe('bastion completion', () => {
  const bash = script('bash');

  it('bash completes every command, subcommand and flag from the flag table', () => {
    assert.deepEqual(completeIn(bash, ['']).sort(), Object.keys(USAGES).sort());
    assert.deepEqual(completeIn(bash, ['aud']), ['audit']);
    for (const command of Object.keys(USAGES)) {
      const subs = subcommandsOf(command);
      if (subs.length > 0) assert.deepEqual(completeIn(bash, [command, '']).sort(), subs.sort());
    }
    for (const [key, options] of Object.entries(FLAGS)) {
      const offered = completeIn(bash, [...key.split(' '), '--']);
      for (const flag of Object.keys(options)) {
        assert.ok(offered.includes(`--${flag}`), `${key}: --${flag}`);
      }
      assert.ok(offered.includes('--help'), key);
    }
    assert.deepEqual(completeIn(bash, ['completion', '']).sort(), [
      '--help',
      '--json',
      'bash',
      'zsh',
    ]);
  });

  it('bash completes file names after a flag that takes a value, not after a switch', () => {
    const afterValued = completeIn(bash, ['serve', '--config', '/etc/host']);
    assert.ok(afterValued.includes('/etc/hostname') || afterValued.includes('/etc/hosts'));
    assert.deepEqual(completeIn(bash, ['keygen', '--force', '--f']), ['--force']);
  });

  it('zsh gets the same commands, subcommands and flags', () => {
    const zsh = script('zsh');
    assert.match(zsh, /^#compdef bastion\n/);
    assert.match(zsh, /else compdef _bastion bastion; fi\n$/);
    assert.ok(zsh.includes(`compadd -- ${Object.keys(USAGES).join(' ')};`));
    for (const [key, options] of Object.entries(FLAGS)) {
      const flags = [...Object.keys(options).map((f) => `--${f}`), '--help'].join(' ');
      assert.ok(zsh.includes(`'${key}') flags=(${flags});`), key);
    }
    for (const command of Object.keys(USAGES).filter((c) => subcommandsOf(c).length > 0)) {
      assert.ok(zsh.includes(`${command}) subs=(${subcommandsOf(command).join(' ')})`));
    }
  });

  it('refuses a shell it does not know', () => {
    const r = bastion(['completion', 'fish']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bash \| zsh/);
  });
});

describe('the flag table', () => {
  it('has every command of the help, and every flag set is a command of it', () => {
    for (const command of Object.keys(USAGES)) {
      const has = command in FLAGS || subcommandsOf(command).length > 0;
      assert.ok(has, `${command} has flags in flags.ts`);
    }
    for (const key of Object.keys(FLAGS)) {
      assert.ok((key.split(' ')[0] ?? '') in USAGES, key);
    }
  });

  it("names every flag in its command's help, and gives every command --json", () => {
    for (const [key, options] of Object.entries(FLAGS)) {
      const command = key.split(' ')[0] ?? '';
      const help = commandHelp(command) ?? '';
      assert.ok('json' in options, `${key} takes --json`);
      // invoke's operation flags are listed per connector, as the schemas give them.
      for (const flag of Object.keys(options)) {
        assert.ok(help.includes(`--${flag}`), `${key}: --${flag} in its help`);
      }
    }
  });

  it('accepts --json on commands that print no result as JSON otherwise', () => {
    const version = bastion(['version', '--json']);
    assert.match((JSON.parse(version.stdout) as { version: string }).version, /^\d+\.\d+\.\d+/);
    const help = bastion(['help', 'serve', '--json']);
    assert.match((JSON.parse(help.stdout) as { usage: string }).usage, /^Usage: bastion serve/);
    assert.match(bastion(['help', '--help']).stdout, /^Usage: bastion help/);
  });
});
