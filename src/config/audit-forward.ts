/**
 * `audit.forward`: the SIEM collectors the broker sends every audit record to, as RFC 5424
 * syslog over TCP or TLS (src/audit/siem/forwarder.ts). Kept apart from config.ts so that
 * the section is one schema and one type.
 */
import { z } from 'zod';
import { type ConfigContext, filePath, port } from '../base/fields.js';

export interface AuditForwardConfig {
  readonly format: 'ocsf' | 'jsonl';
  readonly transport: 'syslog-tcp' | 'syslog-tls';
  readonly host: string;
  readonly port: number;
  /** PEM file of the CA that signs the collector's certificate (TLS); absolute. */
  readonly ca_file?: string | undefined;
  /** The syslog APP-NAME; default `bastion`. */
  readonly app_name: string;
}

/** `host:port`, `[v6]:port`. */
const ADDRESS = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]{1,253})):(\d{1,5})$/;

export const auditForwardSchema = (ctx: ConfigContext) =>
  z
    .array(
      z
        .strictObject(
          {
            format: z.enum(['ocsf', 'jsonl'], { error: 'must be ocsf or jsonl' }).default('ocsf'),
            transport: z.enum(['syslog-tcp', 'syslog-tls'], {
              error: 'must be syslog-tcp or syslog-tls',
            }),
            address: z.string({ error: 'must be HOST:PORT' }).regex(ADDRESS, {
              error: 'must be HOST:PORT',
            }),
            ca_file: filePath(ctx).optional(),
            app_name: z
              .string({ error: 'must be text' })
              .regex(/^[\x21-\x7e]{1,48}$/, { error: 'must be 1 to 48 printable ASCII characters' })
              .default('bastion'),
          },
          { error: 'must be a mapping with transport and address' },
        )
        .transform((raw, issue): AuditForwardConfig => {
          const m = ADDRESS.exec(raw.address);
          const parsed = port.safeParse(Number(m?.[3]));
          if (!parsed.success) {
            issue.addIssue({ code: 'custom', message: 'must be HOST:PORT', path: ['address'] });
            return z.NEVER;
          }
          if (raw.ca_file !== undefined && raw.transport !== 'syslog-tls') {
            issue.addIssue({
              code: 'custom',
              message: 'is for syslog-tls only',
              path: ['ca_file'],
            });
            return z.NEVER;
          }
          return {
            format: raw.format,
            transport: raw.transport,
            host: m?.[1] ?? m?.[2] ?? '',
            port: parsed.data,
            ca_file: raw.ca_file,
            app_name: raw.app_name,
          };
        }),
      { error: 'must be a list of collectors' },
    )
    .optional();
