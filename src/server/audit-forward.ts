/**
 * The broker's SIEM forwarders (`audit.forward`), one per collector, fed every durable audit
 * record by the audit log (`onRecords`). Their CA files are read once at start; a collector
 * that is away costs nothing but its queue (src/audit/siem/forwarder.ts).
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { ConfigError } from '../base/errors.js';
import type { Logger } from '../base/logger.js';
import type { TrailRecord } from '../audit/siem/ocsf.js';
import { SiemForwarder } from '../audit/siem/forwarder.js';
import type { AuditForwardConfig } from '../config/audit-forward.js';

export interface AuditForwarding {
  /** Undefined when no collector is configured. */
  readonly onRecords: ((records: readonly TrailRecord[]) => void) | undefined;
  readonly forwarders: readonly SiemForwarder[];
  close(): Promise<void>;
}

export function startForwarders(
  collectors: readonly AuditForwardConfig[] | undefined,
  logger: Logger,
  connect?: (host: string, port: number) => Socket,
): AuditForwarding {
  const forwarders = (collectors ?? []).map((c) => {
    let ca: string | undefined;
    if (c.ca_file !== undefined) {
      try {
        ca = readFileSync(c.ca_file, 'utf8');
      } catch {
        throw new ConfigError('audit.forward', 'a ca_file cannot be read');
      }
    }
    return new SiemForwarder({
      target: {
        format: c.format,
        transport: c.transport,
        host: c.host,
        port: c.port,
        ca,
        appName: c.app_name,
      },
      logger,
      connect,
    });
  });
  return {
    onRecords:
      forwarders.length === 0
        ? undefined
        : (records) => {
            for (const f of forwarders) f.enqueue(records);
          },
    forwarders,
    close: () => {
      for (const f of forwarders) f.close();
      return Promise.resolve();
    },
  };
}
