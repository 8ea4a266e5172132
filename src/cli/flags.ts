/**
 * Every command's flags, in one table: each command parses its arguments with its entry
 * here, and `bastion completion` and the help test read the same entries, so completion and
 * help cannot drift from what a command accepts. A key is a command, or `command sub` for a
 * command with subcommands.
 */
import type { ParseArgsConfig } from 'node:util';
import { connectorRegistry } from '../connectors/registry.js';
import { DATA_DIR_OPTIONS } from './data-dir.js';
import { operationFlags } from './operation-flags.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const json = { json: bool } as const;
/** The flags of every command that talks to a running broker. */
export const CLIENT_FLAGS = { key: str, url: str, ...json } as const;

/** Every operation flag any registered connector takes (each is checked against the AC's). */
function operationOptions(): Options {
  const options: Options = {};
  for (const plugin of connectorRegistry.list()) {
    for (const flag of operationFlags(plugin.operation)) {
      if (flag.kind === 'rest') continue;
      options[flag.field] = { type: 'string', multiple: flag.kind !== 'string' };
    }
  }
  return options;
}

export const FLAGS = {
  demo: { ...json, 'no-ssh': bool },
  serve: { config: str, 'data-dir': str, listen: str, ...json },
  'keys rotate': { ...DATA_DIR_OPTIONS, ...json },
  bascule: {
    name: str,
    jwks: str,
    listen: str,
    socket: str,
    audit: str,
    issuer: str,
    timeout: str,
    'max-output': str,
    cwd: str,
    path: str,
    ...json,
  },
  keygen: { out: str, force: bool, ...json },
  authorize: {
    ...CLIENT_FLAGS,
    accord: str,
    connector: str,
    target: str,
    cap: { type: 'string', multiple: true },
    duration: str,
    justification: str,
    'delegate-to': str,
  },
  approve: { ...CLIENT_FLAGS, comment: str },
  deny: { ...CLIENT_FLAGS, comment: str },
  revoke: CLIENT_FLAGS,
  'acs show': CLIENT_FLAGS,
  'acs list': { ...CLIENT_FLAGS, limit: str },
  'approvals list': { ...CLIENT_FLAGS, limit: str },
  invoke: { ...CLIENT_FLAGS, ...operationOptions() },
  mcp: {
    key: str,
    url: str,
    http: str,
    'http-token-file': str,
    'http-allow-remote': bool,
    'http-allowed-host': { type: 'string', multiple: true },
    'http-allowed-origin': { type: 'string', multiple: true },
    ...json,
  },
  'audit verify': {
    ...DATA_DIR_OPTIONS,
    // Repeatable: the sink and the copies log rotation renamed away (any order).
    sink: { type: 'string', multiple: true },
    'no-sink': bool,
    witness: str,
    ...json,
  },
  'audit export': { ...DATA_DIR_OPTIONS, after: str, format: str, ...json },
  'db migrate': { ...DATA_DIR_OPTIONS, ...json },
  'db check': { ...DATA_DIR_OPTIONS, ...json },
  doctor: { ...DATA_DIR_OPTIONS, offline: bool, ...json },
  completion: json,
  version: json,
  help: json,
} as const satisfies Record<string, Options>;

export type FlagSet = keyof typeof FLAGS;

/** The subcommands of `command` (`audit` → verify, export), from the table's keys. */
export function subcommandsOf(command: string): string[] {
  return Object.keys(FLAGS)
    .filter((key) => key.startsWith(`${command} `))
    .map((key) => key.slice(command.length + 1));
}
