#!/usr/bin/env node
/** The `bastion` command: parses the subcommand and hands off; no rules live here. */
import { readFileSync } from 'node:fs';
import { runDemo } from './demo.js';
import { BastionError } from '../errors.js';

const USAGE = `Usage: bastion <command> [options]

Commands:
  demo [--type ssh_cert|oauth] [--target HOST] [--login NAME] [--json]
        Resolve a short-lived credential from the embedded dev backend, show its
        redacted form and fingerprint, then revoke and zeroize it.
  version   Print the version.
  help      Print this help.
`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  demo: runDemo,
  version: () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    process.stdout.write(`bastion ${pkg.version}\n`);
    return Promise.resolve(0);
  },
  help: () => {
    process.stdout.write(USAGE);
    return Promise.resolve(0);
  },
};

async function main(argv: string[]): Promise<number> {
  const [name = 'help', ...rest] = argv;
  const alias: Record<string, string> = { '--help': 'help', '-h': 'help', '--version': 'version' };
  const command = commands[alias[name] ?? name];
  if (command === undefined) {
    process.stderr.write(`bastion: unknown command (see 'bastion help')\n`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    // Bastion's own errors carry fixed, safe text; anything else may carry anything.
    const message = err instanceof BastionError ? `${err.code}: ${err.message}` : 'internal_error';
    process.stderr.write(`bastion: ${message}\n`);
    return err instanceof BastionError && err.status < 500 ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
