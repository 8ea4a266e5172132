/**
 * `connectors.ssh`: one command over SSH with a short-lived user certificate. Settings:
 * the known_hosts file that says which host keys to trust (none without it: never
 * trust-on-first-use), the default port, per target where to connect, and the addresses
 * the broker's connections come from (each certificate's source-address).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { checked, filePath, port, type ConfigContext } from '../../base/fields.js';
import { ARGV_OR_COMMAND } from '../command/operation.js';
import { defineConnectorPlugin } from '../plugin.js';
import { hostEndpoints } from '../target-map.js';
import { SshConnector } from './connector.js';
import { knownHostsLoader } from './known-hosts-file.js';

export const DEFAULT_SSH_PORT = 22;

/** An address or address/prefix, as OpenSSH's source-address reads it (no names). */
const cidr = checked((value) => {
  const why = 'must be an IP address or CIDR block, e.g. 10.0.0.5/32';
  if (typeof value !== 'string') return { ok: false, why };
  const [address = '', prefix, extra] = value.split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  const ok =
    family !== 0 &&
    extra === undefined &&
    (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits));
  return ok ? { ok: true, value } : { ok: false, why };
});

const settings = (ctx: ConfigContext) =>
  z.strictObject(
    {
      known_hosts: filePath(ctx).optional(),
      port: port.default(DEFAULT_SSH_PORT),
      hosts: hostEndpoints(),
      // The broker's egress, as the targets see it (after any NAT). Unset: certificates
      // carry no source-address, and a copy works from anywhere for its minutes.
      source_addresses: z.array(cidr, { error: 'must be a list of addresses' }).max(32).optional(),
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
      sourceAddresses: s.source_addresses,
    }),
});
