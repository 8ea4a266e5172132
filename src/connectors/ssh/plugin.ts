/**
 * `connectors.ssh`: one command over SSH with a short-lived user certificate. Settings:
 * the known_hosts file that says which host keys to trust (none without it: never
 * trust-on-first-use), the default port, and per target where to connect.
 */
import { z } from 'zod';
import { filePath, port, type ConfigContext } from '../../base/fields.js';
import { ARGV_OR_COMMAND } from '../command/operation.js';
import { defineConnectorPlugin } from '../plugin.js';
import { hostEndpoints } from '../target-map.js';
import { SshConnector } from './connector.js';
import { knownHostsLoader } from './known-hosts-file.js';

export const DEFAULT_SSH_PORT = 22;

const settings = (ctx: ConfigContext) =>
  z.strictObject(
    {
      known_hosts: filePath(ctx).optional(),
      port: port.default(DEFAULT_SSH_PORT),
      hosts: hostEndpoints(),
    },
    { error: 'must be a mapping' },
  );

export type SshSettings = z.output<ReturnType<typeof settings>>;

export const sshPlugin = defineConnectorPlugin({
  kind: 'ssh',
  summary: 'One command over SSH with a short-lived certificate (credential ssh_cert)',
  operation: ARGV_OR_COMMAND,
  capabilities: ['exec'],
  settings,
  create: (s: SshSettings) =>
    new SshConnector({
      knownHosts: knownHostsLoader(s.known_hosts),
      port: s.port,
      hosts: s.hosts,
    }),
});
