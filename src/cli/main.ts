#!/usr/bin/env node
/** The `bastion` command: parses the subcommand and hands off; no rules live here. */
import { readFileSync } from 'node:fs';
import { BrokerError } from '../client/client.js';
import { BastionError } from '../base/errors.js';
import { runAudit } from './commands/audit.js';
import { runBascule } from './commands/bascule.js';
import { runAcs, runApprove, runAuthorize, runRevoke } from './commands/governance.js';
import { runInvoke } from './commands/invoke.js';
import { runKeygen } from './commands/keygen.js';
import { runKeys } from './commands/keys.js';
import { runMcp } from './commands/mcp.js';
import { runServe } from './commands/serve.js';
import { runDemo } from './demo.js';

const USAGE = `Usage: bastion <command> [options]

Broker:
  serve --config FILE [--data-dir DIR] [--listen HOST:PORT]
        Run the broker (HTTP API, SQLite store, AC signing keys in DATA_DIR/keys).
  keys rotate (--data-dir DIR | --config FILE)
        New AC signing key; SIGHUP the server to use it.
  demo [--json]
        Start a broker on embedded defaults, issue an AC, resolve a dev credential
        for it, discard the credential, revoke the AC.

Targets:
  bascule --name TARGET --jwks URL (--listen HOST:PORT | --socket PATH) [--audit FILE]
          [--timeout 30s] [--max-output BYTES] [--cwd DIR] [--path PATH] [--issuer ISS]
        The governed-shell runtime on a target host: runs one argv per single-use grant
        from the broker, without a shell, in a clean environment, and audits it.

Principals (talk to a running broker: --url URL, or $BASTION_URL, default http://127.0.0.1:8443):
  keygen --out FILE
        New did:key principal key (0600); prints its DID.
  authorize --key FILE --accord ID --connector NAME --target HOST --cap CAP [--cap CAP]
            --duration 10m [--justification TEXT]
  approve AC_ID --key FILE
  revoke AC_ID --key FILE
  acs show AC_ID --key FILE
  invoke AC_ID --key FILE (-- ARGV... | --command "...") [--stdin TEXT]
        Run one command on the AC's target through its connector; exits with its status.

Agents:
  mcp --key FILE [--url URL] [--http [HOST:]PORT [--http-token-file FILE] [--http-allow-remote]]
        The MCP bridge an agent's host starts: tools list_accords, request_access, invoke,
        revoke, audit_tail. The agent's key stays in the bridge; ACs never reach the agent.
        stdio by default; --http serves POST /mcp on 127.0.0.1 behind a bearer token.

Audit:
  audit verify (--data-dir DIR | --config FILE)
        Check the hash chain, signed checkpoints and the external copy; name what was
        edited, deleted, reordered, truncated or rolled back; list interrupted invocations.
  audit export (--data-dir DIR | --config FILE) [--after SEQ]
        The audit trail as JSON Lines.

  Every command takes --json for machine-readable output.
  version   Print the version.
  help      Print this help.
`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  demo: runDemo,
  serve: runServe,
  keygen: runKeygen,
  keys: runKeys,
  authorize: runAuthorize,
  approve: runApprove,
  revoke: runRevoke,
  acs: runAcs,
  invoke: runInvoke,
  audit: runAudit,
  bascule: runBascule,
  mcp: runMcp,
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
