/**
 * A trail record as an RFC 5424 syslog message, and its octet-counting frame (RFC 6587
 * §3.4.1, the framing RFC 5425 makes mandatory over TLS). The structured data carries the
 * record's seq and chain hash, so a collector can index and de-duplicate without parsing
 * the MSG; the MSG is the record in the chosen format (OCSF JSON, or the sink's JSON line),
 * UTF-8 behind a BOM as RFC 5424 §6.4 asks.
 */
import { hostname } from 'node:os';
import { canonicalJson } from '../../base/audit-chain.js';
import { checkpointKid, entryFailed, recordToOcsf, type TrailRecord } from './ocsf.js';

export type SiemFormat = 'jsonl' | 'ocsf';

/** The SD-ID of Bastion's element; 32473 is RFC 5612's example enterprise number. */
export const SD_ID = 'bastion@32473';

/** Facility 13 (log audit). */
const FACILITY = 13;
const SEVERITY_INFO = 6;
const SEVERITY_WARNING = 4;
const BOM = '\ufeff';

/** The record's MSG text: its OCSF event, or the line the sink holds for it (JCS). */
export function recordText(record: TrailRecord, format: SiemFormat): string {
  if (format === 'ocsf') return JSON.stringify(recordToOcsf(record));
  return canonicalJson('entry' in record ? record.entry : { checkpoint: record.checkpoint });
}

/** PRINTUSASCII (%d33-126) up to `max` characters, or the NILVALUE. */
function header(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? '-' : clean;
}

/** PARAM-VALUE escaping (RFC 5424 §6.3.3): `"`, `\` and `]`. */
const param = (value: string): string => value.replace(/["\\\]]/g, (c) => `\\${c}`);

export interface SyslogOptions {
  readonly appName: string;
  /** The HOSTNAME field; default the machine's name. */
  readonly host?: string | undefined;
  /** The PROCID field; default this process's pid. */
  readonly procId?: string | undefined;
}

/** One RFC 5424 message (without framing). */
export function syslogMessage(
  record: TrailRecord,
  format: SiemFormat,
  options: SyslogOptions,
): string {
  const isEntry = 'entry' in record;
  const pri =
    FACILITY * 8 + (isEntry && entryFailed(record.entry) ? SEVERITY_WARNING : SEVERITY_INFO);
  const ts = isEntry ? record.entry.ts : record.checkpoint.ts;
  const msgId = isEntry ? record.entry.type : 'checkpoint';
  const params: [string, string][] = isEntry
    ? [
        ['seq', String(record.entry.seq)],
        ['hash', record.entry.hash],
        ['prev', record.entry.prev],
      ]
    : [
        ['seq', String(record.checkpoint.seq)],
        ['hash', record.checkpoint.hash],
        ['kid', checkpointKid(record.checkpoint.jws) ?? ''],
      ];
  const sd = `[${SD_ID} ${params.map(([k, v]) => `${k}="${param(v)}"`).join(' ')}]`;
  return [
    `<${pri}>1`,
    ts,
    header(options.host ?? hostname(), 255),
    header(options.appName, 48),
    header(options.procId ?? String(process.pid), 128),
    header(msgId, 32),
    sd,
    BOM + recordText(record, format),
  ].join(' ');
}

/** `MSG-LEN SP SYSLOG-MSG`: the length in octets, so the MSG may hold anything. */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
