/**
 * The `winrm` connector: one command on a Windows target through a WinRS shell, over
 * WS-Management on HTTP with Kerberos (credential `kerberos`: the KRB-CRED of the user's
 * service ticket to the target). Every refusal by policy happens before a credential
 * exists: an argv or cmd.exe line is matched as the other command connectors match theirs
 * (cmd.exe syntax refused under a policy), a PowerShell script per command it invokes. The
 * target's identity is the AP-REP's mutual authentication, always required.
 */
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { BastionError } from '../../base/errors.js';
import { deadline } from '../../base/deadline.js';
import type { AcContext, KerberosCredential } from '../../credentials/types.js';
import { InvocationDeniedError } from '../../governance/denials.js';
import { canonicalTarget } from '../../governance/targets.js';
import type { GssScheme } from '../../kerberos/gss/initiator.js';
import { readKrbCred, type ReadKrbCred } from '../../kerberos/client/read-krb-cred.js';
import { formatPrincipal, type Principal } from '../../kerberos/principal.js';
import type { Capability } from '../../governance/capabilities.js';
import type { ConnectFunction } from '../../transports/destination.js';
import { type ExecResult, notStartedResult } from '../../transports/types.js';
import { execAuditDetail, policyCommandLine } from '../command/operation.js';
import type { Connector, RunContext } from '../connector.js';
import type { HostEndpoints } from '../target-map.js';
import { parseWinRmOperation, WINRM_OPERATION, type WinRmOperation } from './operation.js';
import { checkPowerShellPolicy, describePowerShell } from './powershell.js';
import { runCommand } from './shell-run.js';
import { WinRmTransport } from './transport.js';

/** What makes a cmd.exe line more than one simple command (or expands text in it). */
const CMD_SYNTAX = /[&|<>^%()"!\r\n]/;

export interface WinRmConnectorOptions {
  readonly port: number;
  readonly scheme: GssScheme;
  /** The listener's path, `/wsman`. */
  readonly path: string;
  readonly hosts: HostEndpoints;
  /** The largest (encrypted) reply body read. */
  readonly maxReplyBytes: number;
  /** Resolver and TCP connect, injectable for tests (loopback only); see transport.ts. */
  readonly lookup?: LookupFunction | undefined;
  readonly connect?: ConnectFunction | undefined;
}

/** The credential is not for this target, or its ticket says otherwise than its labels. */
function outOfScope(): BastionError {
  return new BastionError('credential_scope_invalid');
}

/** The host of a `SERVICE/host@REALM` principal, canonical; undefined for any other shape. */
function hostOf(spn: Principal): string | undefined {
  const [, host, ...rest] = spn.name.components;
  if (host === undefined || rest.length !== 0) return undefined;
  try {
    return canonicalTarget(host);
  } catch {
    return undefined;
  }
}

/** I3 for Kerberos, on the ticket itself: for this target's host, and for the client named. */
function checkScope(credential: KerberosCredential, read: ReadKrbCred, target: string): void {
  if (
    hostOf(read.spn) !== target ||
    (credential.servicePrincipal !== undefined &&
      credential.servicePrincipal !== formatPrincipal(read.spn)) ||
    (credential.clientPrincipal !== undefined &&
      credential.clientPrincipal !== formatPrincipal(read.client))
  ) {
    throw outOfScope();
  }
}

export class WinRmConnector implements Connector<WinRmOperation, ExecResult> {
  readonly name = 'winrm';
  readonly credentialType = 'kerberos' as const;
  readonly operation = WINRM_OPERATION;

  constructor(private readonly options: WinRmConnectorOptions) {}

  parseOperation(raw: unknown): WinRmOperation {
    return parseWinRmOperation(raw);
  }

  requiredCapabilities(): readonly Capability[] {
    return ['exec'];
  }

  commandLine(op: WinRmOperation, ac: Pick<AcContext, 'commands'>): string | undefined {
    if ('powershell' in op) return undefined;
    // A policy matches text; cmd.exe would read `whoami & del x` as two commands.
    if (ac.commands !== undefined && 'command' in op && CMD_SYNTAX.test(op.command)) {
      throw new InvocationDeniedError('shell_syntax_not_allowed');
    }
    return policyCommandLine(op, ac);
  }

  /** For the audit (a script's commands by name, never its text); commands are their line. */
  describe(op: WinRmOperation): string {
    return 'powershell' in op ? describePowerShell(op.powershell) : policyCommandLine(op, {});
  }

  checkPolicy(op: WinRmOperation, ac: Pick<AcContext, 'commands'>): void {
    if ('powershell' in op) checkPowerShellPolicy(op.powershell, ac.commands);
  }

  auditDetail(result: ExecResult): Record<string, unknown> {
    return execAuditDetail(result);
  }

  async run(ctx: RunContext<WinRmOperation>): Promise<ExecResult> {
    const t0 = performance.now();
    const { credential, target, operation, limits } = ctx;
    if (credential.type !== 'kerberos') throw outOfScope();
    const read = readKrbCred(credential.ticket);
    let transport: WinRmTransport | undefined;
    try {
      checkScope(credential, read, target);
      const timeoutMs = Math.min(
        operation.timeout !== undefined ? operation.timeout * 1000 : Infinity,
        limits.timeoutMs,
      );
      const host = this.options.hosts.get(target);
      const port = host?.port ?? this.options.port;
      const authority = `${isIP(target) === 6 ? `[${target}]` : target}:${port}`;
      transport = new WinRmTransport(
        {
          endpoint: {
            address: host?.address ?? target,
            port,
            path: this.options.path,
            host: authority,
          },
          scheme: this.options.scheme,
          initiator: { ticket: read.ticket, sessionKey: read.sessionKey, client: read.client },
          maxReplyBytes: this.options.maxReplyBytes,
        },
        { lookup: this.options.lookup, connect: this.options.connect },
      );
      // Connecting and authenticating count against the command's time, like the rest.
      const budget = deadline(timeoutMs, ctx.signal);
      try {
        await transport.open(budget.signal);
      } catch (err) {
        if (!budget.signal.aborted) throw err;
        return notStartedResult(t0);
      } finally {
        budget.clear();
      }
      const result = await runCommand(transport.send, operation, {
        to: `http://${authority}${this.options.path}`,
        timeoutMs: Math.max(1, timeoutMs - (performance.now() - t0)),
        signal: ctx.signal,
        maxOutputBytes: limits.maxOutputBytes,
      });
      return { ...result, duration_ms: Math.round(performance.now() - t0) };
    } finally {
      transport?.close();
      read.sessionKey.key.dispose();
    }
  }
}
