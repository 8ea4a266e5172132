/**
 * The `ssh` connector: runs one command on the target over SSH with a short-lived user
 * certificate (credential `ssh_cert`) for the login the accord maps the principal to. An
 * argv is sent single-quoted, so the remote shell sees each argument literally. The
 * certificate is bound to that very command line (force-command) and to the broker's
 * egress addresses (source-address), with no extension: a copy runs nothing else.
 */
import { BastionError } from '../../base/errors.js';
import { parseEd25519Certificate } from '../../ssh/certificate.js';
import {
  certificateHonours,
  type CredentialBinding,
  type SshCertificateBinding,
  sshCommandBinding,
} from '../../credentials/binding.js';
import type { AcContext, SshCertCredential } from '../../credentials/types.js';
import type { LookupFunction } from 'node:net';
import type { ConnectFunction } from '../../transports/destination.js';
import type { KnownHosts } from '../../transports/known-hosts.js';
import { sshExec } from '../../transports/ssh/exec.js';
import { shellQuote } from '../../transports/ssh/shell-quote.js';
import type { CommandOperation, ExecResult } from '../../transports/types.js';
import { CommandConnector } from '../command/connector.js';
import { ARGV_OR_COMMAND } from '../command/operation.js';
import type { RunContext } from '../connector.js';
import type { HostEndpoints } from '../target-map.js';
import { InvocationDeniedError } from '../../governance/denials.js';

/** Characters that make a command line more than one simple command to a POSIX shell. */
const SHELL_SYNTAX = /[;&|$`<>(){}\n\r\\*?[\]~#!'"]/;

/** The backend's certificate says more than the AC allows: refused before any connection. */
export class CredentialScopeError extends BastionError {
  constructor() {
    super('credential_scope_invalid');
  }
}

/**
 * The one command line sent in the exec request, and so the one the certificate forces:
 * both come from here, byte for byte (sshd runs either through the login shell, `-c`).
 */
export function sshCommandLine(op: CommandOperation): string {
  return op.command ?? shellQuote(op.argv ?? []);
}

/**
 * I3 for SSH, on the certificate itself rather than the backend's word for it: a user
 * certificate whose only principal is the accord's login (never empty, never `*`), valid
 * no later than the credential's expiry, bound to exactly this invocation's command,
 * source addresses and extensions.
 */
export function checkSshCertificate(
  credential: SshCertCredential,
  ac: AcContext,
  binding: SshCertificateBinding,
): string {
  const login = ac.ssh_principals?.[0];
  let cert: ReturnType<typeof parseEd25519Certificate>;
  try {
    cert = parseEd25519Certificate(credential.certificate);
  } catch {
    throw new CredentialScopeError();
  }
  const validBefore = Number(cert.validBefore) * 1000;
  if (
    login === undefined ||
    login === '*' ||
    (ac.ssh_principals?.length ?? 0) !== 1 ||
    cert.certType !== 1 ||
    cert.principals.length !== 1 ||
    cert.principals[0] !== login ||
    credential.principals.length !== 1 ||
    credential.principals[0] !== login ||
    !(validBefore <= credential.expiresAt.getTime()) ||
    !certificateHonours(cert, binding)
  ) {
    throw new CredentialScopeError();
  }
  return login;
}

export interface SshConnectorOptions {
  /** The trusted host keys (re-read by the caller when the file changes). */
  knownHosts: () => KnownHosts;
  /** Default port. */
  port: number;
  /** Per canonical target: where to connect, when not the target name itself. */
  hosts: HostEndpoints;
  /** The broker's egress addresses (CIDR) each certificate is bound to; empty: unbound. */
  sourceAddresses?: readonly string[] | undefined;
  /** Resolver and TCP connect, injectable for tests (loopback only); see transports/destination.ts. */
  lookup?: LookupFunction | undefined;
  connect?: ConnectFunction | undefined;
}

export class SshConnector extends CommandConnector {
  readonly name = 'ssh';
  readonly credentialType = 'ssh_cert' as const;

  constructor(private readonly options: SshConnectorOptions) {
    super(ARGV_OR_COMMAND);
  }

  override commandLine(op: CommandOperation, ac: { commands?: unknown }): string {
    // A policy matches text; a shell would read `uptime; rm -rf /` as two commands.
    if (ac.commands !== undefined && op.command !== undefined && SHELL_SYNTAX.test(op.command)) {
      throw new InvocationDeniedError('shell_syntax_not_allowed');
    }
    return super.commandLine(op, ac);
  }

  credentialBinding(op: CommandOperation): CredentialBinding {
    return {
      sshCommand: sshCommandLine(op),
      sshSourceAddresses: this.options.sourceAddresses ?? [],
    };
  }

  override run(ctx: RunContext<CommandOperation>): Promise<ExecResult> {
    const credential = ctx.credential as SshCertCredential;
    const command = sshCommandLine(ctx.operation);
    const bound = sshCommandBinding(command, this.options.sourceAddresses);
    const username = checkSshCertificate(credential, ctx.acContext, bound);
    const host = this.options.hosts.get(ctx.target);
    return sshExec({
      address: host?.address ?? ctx.target,
      port: host?.port ?? this.options.port,
      hostName: ctx.target,
      username,
      credential,
      knownHosts: this.options.knownHosts(),
      command,
      ...(ctx.operation.stdin !== undefined ? { stdin: Buffer.from(ctx.operation.stdin) } : {}),
      limits: ctx.limits,
      signal: ctx.signal,
      lookup: this.options.lookup,
      connect: this.options.connect,
    });
  }
}
