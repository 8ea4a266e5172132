#!/usr/bin/env node
/** The `bastion` command: parses the subcommand and hands off; no rules live here. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BrokerError } from '../client/client.js';
import { BastionError } from '../base/errors.js';
import { runAudit } from './commands/audit.js';
import { runBascule } from './commands/bascule.js';
import { runDb } from './commands/db.js';
import { runDoctorCommand } from './commands/doctor.js';
import {
  runAcs,
  runApprovals,
  runApprove,
  runAuthorize,
  runDeny,
  runRevoke,
} from './commands/governance.js';
import { runInvoke } from './commands/invoke.js';
import { runKeygen } from './commands/keygen.js';
import { runKeys } from './commands/keys.js';
import { runMcp } from './commands/mcp.js';
import { runServe } from './commands/serve.js';
import { output, parseCommandArgs, wantsHelp } from './args.js';
import { runCompletion } from './completion.js';
import { FLAGS } from './flags.js';
import { runDemo } from './demo.js';
import { commandHelp, fullHelp } from './usage.js';

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  demo: runDemo,
  serve: runServe,
  keygen: runKeygen,
  keys: runKeys,
  authorize: runAuthorize,
  approve: runApprove,
  deny: runDeny,
  revoke: runRevoke,
  acs: runAcs,
  approvals: runApprovals,
  invoke: runInvoke,
  audit: runAudit,
  db: runDb,
  doctor: runDoctorCommand,
  bascule: runBascule,
  mcp: runMcp,
  completion: runCompletion,
  version: (args) => {
    const { values } = parseCommandArgs(() =>
      parseArgs({ args, options: FLAGS.version, strict: true }),
    );
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as {
      version: string;
    };
    output(values.json === true, { version: pkg.version }, () => [`bastion ${pkg.version}`]);
    return Promise.resolve(0);
  },
  help: (args) => {
    const { values, positionals } = parseCommandArgs(
      () => parseArgs({ args, options: FLAGS.help, strict: true, allowPositionals: true }),
      1,
    );
    const name = positionals[0];
    const one = name !== undefined ? commandHelp(name) : undefined;
    if (name !== undefined && one === undefined) {
      process.stderr.write(`bastion: unknown command (see 'bastion help')\n`);
      return Promise.resolve(2);
    }
    const text = one ?? fullHelp();
    output(values.json === true, { usage: text }, () => [text.trimEnd()]);
    return Promise.resolve(0);
  },
};

// A reader that stops early (`bastion audit export | head -1`) is not an error of ours: the
// output was wanted no further, so stop quietly with success, whatever was being written.
// Any other failure to write is one, said once on stderr.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') process.stderr.write('bastion: cannot write to stdout\n');
  process.exit(err.code === 'EPIPE' ? 0 : 1);
});

async function main(argv: string[]): Promise<number> {
  const [name = 'help', ...rest] = argv;
  const alias: Record<string, string> = { '--help': 'help', '-h': 'help', '--version': 'version' };
  const command = commands[alias[name] ?? name];
  if (command === undefined) {
    process.stderr.write(`bastion: unknown command (see 'bastion help')\n`);
    return 2;
  }
  const help = wantsHelp(rest) ? commandHelp(alias[name] ?? name) : undefined;
  if (help !== undefined) {
    process.stdout.write(help);
    return 0;
  }
  try {
    return await command(rest);
  } catch (err) {
    if (err instanceof BrokerError) {
      process.stderr.write(
        `bastion: the broker refused (${err.status}) ${err.code}: ${err.message}\n`,
      );
      return 1;
    }
    // Bastion's own errors carry fixed, safe text; anything else may carry anything.
    const message = err instanceof BastionError ? `${err.code}: ${err.message}` : 'internal_error';
    process.stderr.write(`bastion: ${message}\n`);
    // Usage and configuration mistakes exit 2; failures of the work itself exit 1.
    const usage =
      err instanceof BastionError && (err.status < 500 || err.code === 'invalid_config');
    return usage ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
