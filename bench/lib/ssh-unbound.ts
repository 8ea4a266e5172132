/**
 * Bench only: an SSH connector as it was before #17, so that B5 can time the same
 * invocation with a bound and an unbound certificate in one run. Production has no way to
 * ask for an unbound certificate (the `ssh` connector always binds, and the resolver and
 * the connector refuse a certificate without the binding); this connector, served under
 * its own name (`ssh_unbound`) by the bench broker only, simply asks for no binding. The
 * backend then signs as it did before #17 (OpenSSH's default extensions, no critical
 * option), and the run makes the same checks on it as the `ssh` connector does, against
 * that unbound shape, before the same `sshExec`. Nothing in src/ changes.
 */
import { knownHostsLoader } from '../../src/connectors/ssh/known-hosts-file.js';
import {
  checkSshCertificate,
  SshConnector,
  sshCommandLine,
} from '../../src/connectors/ssh/connector.js';
import type { Connector } from '../../src/connectors/connector.js';
import type { SshCertCredential } from '../../src/credentials/types.js';
import { OPENSSH_DEFAULT_EXTENSIONS } from '../../src/ssh/certificate.js';
import { sshExec } from '../../src/transports/ssh/exec.js';
import type { CommandOperation, ExecResult } from '../../src/transports/types.js';

export const UNBOUND_SSH = 'ssh_unbound';

/** What an unbound certificate from the dev backend carries: no option, default extensions. */
const UNBOUND = { criticalOptions: {}, extensions: OPENSSH_DEFAULT_EXTENSIONS };

export function unboundSshConnector(options: {
  port: number;
  knownHostsFile: string;
}): Connector<CommandOperation, ExecResult> {
  const knownHosts = knownHostsLoader(options.knownHostsFile);
  // Parsing, capabilities, command policy and audit exactly as the real connector does them.
  const ssh = new SshConnector({ knownHosts, port: options.port, hosts: new Map() });
  return {
    name: UNBOUND_SSH,
    credentialType: 'ssh_cert',
    operation: ssh.operation,
    parseOperation: (raw) => ssh.parseOperation(raw),
    requiredCapabilities: () => ssh.requiredCapabilities(),
    commandLine: (op, ac) => ssh.commandLine(op, ac),
    // No credentialBinding: the one difference from `ssh`.
    run: (ctx) => {
      const credential = ctx.credential as SshCertCredential;
      const username = checkSshCertificate(credential, ctx.acContext, UNBOUND);
      return sshExec({
        address: ctx.target,
        port: options.port,
        hostName: ctx.target,
        username,
        credential,
        knownHosts: knownHosts(),
        command: sshCommandLine(ctx.operation),
        limits: ctx.limits,
        signal: ctx.signal,
      });
    },
    auditDetail: (result) => ssh.auditDetail(result),
  };
}
