/**
 * `connectors.winrm`: one command on a Windows target over WS-Management (HTTP, Kerberos,
 * message encryption) with the user's service ticket (credential `kerberos`). Settings:
 * the default port, the authentication scheme, the listener's path, per target where to
 * connect, and the largest reply read. No HTTPS yet: the host's identity is the AP-REP.
 */
import { z } from 'zod';
import { port } from '../../base/fields.js';
import { defineConnectorPlugin } from '../plugin.js';
import { hostEndpoints } from '../target-map.js';
import { WinRmConnector } from './connector.js';
import { WINRM_OPERATION } from './operation.js';

export const DEFAULT_WINRM_PORT = 5985;
const MiB = 1024 * 1024;

const settings = () =>
  z.strictObject(
    {
      port: port.default(DEFAULT_WINRM_PORT),
      // Negotiate: what Windows' own clients and pywinrm send; Kerberos is also accepted.
      scheme: z
        .enum(['Negotiate', 'Kerberos'], { error: 'must be Negotiate or Kerberos' })
        .default('Negotiate'),
      path: z
        .string({ error: 'must be a path' })
        .max(256, { error: 'must be at most 256 characters long' })
        .regex(/^\/[A-Za-z0-9._~/-]*$/, { error: 'must be a URL path such as /wsman' })
        .default('/wsman'),
      hosts: hostEndpoints(),
      max_reply_bytes: z
        .int({ error: 'must be a whole number' })
        .min(64 * 1024, { error: 'must be at least 65536' })
        .max(64 * MiB, { error: 'must be at most 67108864' })
        .default(MiB),
    },
    { error: 'must be a mapping' },
  );

export type WinRmSettings = z.output<ReturnType<typeof settings>>;

export const winrmPlugin = defineConnectorPlugin({
  kind: 'winrm',
  summary: 'One command on Windows over WinRM with Kerberos (credential kerberos)',
  operation: WINRM_OPERATION,
  capabilities: ['exec'],
  settings,
  create: (s: WinRmSettings) =>
    new WinRmConnector({
      port: s.port,
      scheme: s.scheme,
      path: s.path,
      hosts: s.hosts,
      maxReplyBytes: s.max_reply_bytes,
    }),
});
