/**
 * What each command takes, in one place: `bastion help` prints them all, grouped, and
 * `bastion <command> --help` prints one. The invoke operation flags are derived from the
 * connectors' operation schemas (operation-flags.ts), so they are listed from there.
 */
import { connectorRegistry } from '../connectors/registry.js';
import { operationFlagsHelp } from './operation-flags.js';

export interface CommandUsage {
  readonly group: 'Broker' | 'Targets' | 'Principals' | 'Agents' | 'Audit' | 'Other';
  /** Lines after `bastion `: the first is the synopsis, the rest explain it. */
  readonly text: () => string;
}

const URL_NOTE =
  'Talks to a running broker: --url URL, or $BASTION_URL, default http://127.0.0.1:8443.';

export const USAGES: Readonly<Record<string, CommandUsage>> = {
  serve: {
    group: 'Broker',
    text: () => `serve --config FILE [--data-dir DIR] [--listen HOST:PORT] [--json]
      Run the broker (HTTP API, HTTPS with tls: in the config; store: SQLite in DATA_DIR or
      PostgreSQL; AC signing keys in DATA_DIR/keys or the database). Prints one line when it
      listens: "bastion listening on URL", or {"service","listening"}. SIGHUP reloads the
      signing keys, the accords and the TLS certificate; SIGTERM/SIGINT finish in-flight
      requests and stop.`,
  },
  keys: {
    group: 'Broker',
    text: () => `keys rotate (--data-dir DIR | --config FILE) [--json]
      New AC signing key; SIGHUP the server to use it.`,
  },
  db: {
    group: 'Broker',
    text: () => `db migrate (--data-dir DIR | --config FILE) [--json]
      Apply pending schema migrations to the store (config store:, or $BASTION_DATABASE_URL,
      else SQLite in DATA_DIR) and exit; idempotent.
  db check (--data-dir DIR | --config FILE) [--json]
      Connect without migrating: the schema version, pending migrations, the audit head.
      Exits 1 when the schema is behind, with an error when it cannot connect.`,
  },
  doctor: {
    group: 'Broker',
    text: () => `doctor (--config FILE | --data-dir DIR) [--offline] [--json]
      Check a deployment: accords that can never match, command patterns that do not match
      what they seem to, backends (reachable), clock skew of HTTP peers (Date header; SSH
      and KDC times are not measured), file modes, the audit sink, witness, trail and free
      space, the store and its schema. --offline skips the network. Exits 1 on a failure.`,
  },
  demo: {
    group: 'Broker',
    text: () => `demo [--json] [--no-ssh]
      Start a broker on embedded defaults, issue an AC, resolve a dev credential
      for it, discard the credential, revoke the AC.`,
  },
  bascule: {
    group: 'Targets',
    text: () => `bascule --name TARGET --jwks URL (--listen HOST:PORT | --socket PATH) [--audit FILE]
          [--timeout 30s] [--max-output BYTES] [--cwd DIR] [--path PATH] [--issuer ISS] [--json]
      The governed-shell runtime on a target host: runs one argv per single-use grant
      from the broker, without a shell, in a clean environment, and audits it. Its start
      line, like serve's, is JSON with --json.`,
  },
  keygen: {
    group: 'Principals',
    text: () => `keygen --out FILE [--force] [--json]
      New did:key principal key (0600); prints its DID. An existing file is refused
      unless --force replaces it.`,
  },
  authorize: {
    group: 'Principals',
    text: () => `authorize --key FILE --accord ID --connector NAME --target HOST --cap CAP [--cap CAP]
            --duration 10m [--justification TEXT] [--delegate-to DID] [--url URL] [--json]
      Ask for an AC under an accord; with --delegate-to, for that agent's did:key, acting
      for you (the accord must list it under delegates).
      ${URL_NOTE}`,
  },
  approve: {
    group: 'Principals',
    text: () => `approve AC_ID --key FILE [--comment TEXT] [--url URL] [--json]
      Approve a pending AC (an approver of its accord); the requester sees the comment.`,
  },
  deny: {
    group: 'Principals',
    text: () => `deny AC_ID --key FILE [--comment TEXT] [--url URL] [--json]
      Deny a pending AC (an approver of its accord): it can no longer be approved; the
      requester sees the comment.`,
  },
  revoke: {
    group: 'Principals',
    text: () => `revoke AC_ID --key FILE [--url URL] [--json]
      Revoke an AC (its principal or an admin).`,
  },
  acs: {
    group: 'Principals',
    text: () => `acs show AC_ID --key FILE [--url URL] [--json]
      An AC's status; the AC itself to its principal.
  acs list --key FILE [--limit N] [--url URL] [--json]
      Your own ACs (requested by you, or delegated to your key), newest first.`,
  },
  approvals: {
    group: 'Principals',
    text: () => `approvals list --key FILE [--limit N] [--url URL] [--json]
      Pending requests you may approve and have not yet (then: bastion approve or deny AC_ID).`,
  },
  invoke: {
    group: 'Principals',
    text: () => `invoke AC_ID --key FILE [--url URL] [--json] OPERATION
      Run one operation on the AC's target through its connector. OPERATION, by connector:
${connectorRegistry
  .list()
  .map((plugin) => `        ${plugin.kind}: ${operationFlagsHelp(plugin.operation)}`)
  .join('\n')}
      A command's output goes to stdout/stderr and its exit status becomes bastion's;
      an HTTP reply's body goes to stdout, and a status of 400 or more exits 1. An AC
      that is not active is refused with the broker's code (ac_revoked, …), exit 1.`,
  },
  mcp: {
    group: 'Agents',
    text: () => `mcp --key FILE [--url URL] [--http [HOST:]PORT [--http-token-file FILE] [--http-allow-remote]
      [--http-allowed-host HOST:PORT]... [--http-allowed-origin ORIGIN]...] [--json]
      The MCP bridge an agent's host starts: tools list_accords, request_access,
      request_status, invoke, revoke, audit_tail. The agent's key stays in the bridge;
      ACs never reach the agent. stdio by default; --http serves POST /mcp on 127.0.0.1
      behind a bearer token, and refuses (403) a Host header naming another address and any
      browser Origin not listed. With --json its lines on stderr are JSON objects.`,
  },
  audit: {
    group: 'Audit',
    text: () => `audit verify (--data-dir DIR | --config FILE) [--sink FILE... | --no-sink] [--witness FILE] [--json]
      Check the hash chain, signed checkpoints, the sink (<data_dir>/audit/audit.jsonl
      and its rotated copies beside it, or each --sink; missing or cut short is a problem
      unless --no-sink says there is none; replicas on PostgreSQL keep none)
      and the witness (audit.witness_file, or --witness); name what was edited, deleted,
      reordered, truncated or rolled back; list interrupted invocations.
  audit export (--data-dir DIR | --config FILE) [--after SEQ] [--format jsonl|ocsf|syslog] [--json]
      The audit trail as JSON Lines (with or without --json); ocsf: OCSF 1.1 events, one
      a line; syslog: RFC 5424 messages with the OCSF event as MSG, one a line.`,
  },
  completion: {
    group: 'Other',
    text: () => `completion bash|zsh [--json]
      A completion script for the shell: source <(bastion completion bash) in ~/.bashrc,
      or source <(bastion completion zsh) after compinit in ~/.zshrc (or save it as
      _bastion in a directory of $fpath).`,
  },
  version: { group: 'Other', text: () => 'version [--json]\n      Print the version.' },
  help: {
    group: 'Other',
    text: () => "help [COMMAND] [--json]\n      Print this help, or one command's.",
  },
};

/** One command's usage, as `bastion <command> --help` prints it. */
export function commandHelp(name: string): string | undefined {
  const usage = USAGES[name];
  return usage === undefined ? undefined : `Usage: bastion ${usage.text()}\n`;
}

/** Every command, grouped, as `bastion help` prints it. */
export function fullHelp(): string {
  const groups = ['Broker', 'Targets', 'Principals', 'Agents', 'Audit', 'Other'] as const;
  const sections = groups.map((group) => {
    const lines = Object.values(USAGES)
      .filter((u) => u.group === group)
      .map((u) => `  ${u.text()}`);
    return `${group}:\n${lines.join('\n')}`;
  });
  return `Usage: bastion <command> [options]   (bastion <command> --help for one)

${sections.join('\n\n')}

  Every command takes --json for machine-readable output.
`;
}
