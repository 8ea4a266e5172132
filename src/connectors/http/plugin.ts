/**
 * `connectors.http`: one request to an API with a short-lived credential. Settings: an
 * extra CA certificate to trust for the targets' TLS (an internal CA), besides the
 * system's roots; and which credential each target takes (a bearer token by default).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../../base/errors.js';
import { filePath, type ConfigContext } from '../../base/fields.js';
import { defineConnectorPlugin } from '../plugin.js';
import { HttpConnector } from './connector.js';
import { credentialRule } from './credentials.js';
import { HTTP_OPERATION } from './operation.js';

const settings = (ctx: ConfigContext) =>
  z.strictObject(
    {
      ca_file: filePath(ctx).optional(),
      credentials: z
        .array(credentialRule, { error: 'must be a list of {targets, type}' })
        .optional(),
    },
    { error: 'must be a mapping' },
  );

export const httpPlugin = defineConnectorPlugin({
  kind: 'http',
  summary:
    'One request to an API with a short-lived credential (oauth bearer token; or aws, x509_svid per target)',
  operation: HTTP_OPERATION,
  capabilities: ['read', 'write'],
  settings,
  create: (s: z.output<ReturnType<typeof settings>>) => {
    let ca: string | undefined;
    if (s.ca_file !== undefined) {
      try {
        ca = readFileSync(s.ca_file, 'utf8');
      } catch {
        throw new ConfigError('connectors.http.ca_file', 'cannot be read');
      }
    }
    return new HttpConnector({
      ...(ca !== undefined ? { ca } : {}),
      ...(s.credentials !== undefined ? { credentials: s.credentials } : {}),
    });
  },
});
