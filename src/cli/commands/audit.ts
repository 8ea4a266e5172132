/**
 * `bastion audit verify | export (--data-dir DIR | --config FILE)`: the operator's view of
 * the tamper-evident audit trail. `verify` checks the chain, the signed checkpoints, the
 * external sink (whose absence is a problem unless `--no-sink` says there is none) and the
 * witness (`audit.witness_file`, or `--witness`), and exits 1 when anything is wrong; `export` prints the entries as JSON
 * Lines for another system to keep, or as OCSF events or RFC 5424 messages for a SIEM.
 * Both read the data directory directly, so they work whether or not the broker is
 * running (SQLite WAL lets them read beside it).
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import type { AuditReport } from '../../audit/report.js';
import { AUDIT_SINK_FILE } from '../../audit/sink.js';
import { rotatedSinkFiles } from '../../audit/sink-rotation.js';
import { verifyAudit } from '../../audit/verify.js';
import { exportRecords } from '../../audit/siem/export.js';
import { recordText, syslogMessage } from '../../audit/siem/syslog.js';
import { InvalidArgumentError } from '../../base/errors.js';
import { loadConfig } from '../../config/config.js';
import { publicKeysFor } from '../../server/shared-state.js';
import { output, parseCommandArgs } from '../args.js';
import { dataDirOf, isShared, openStoreOf } from '../data-dir.js';
import { FLAGS } from '../flags.js';

export async function runAudit(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'verify') return runVerify(rest);
  if (sub === 'export') return runExport(rest);
  throw new InvalidArgumentError('audit subcommand (use: bastion audit verify | export)');
}

async function runVerify(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args,
      options: FLAGS['audit verify'],
      strict: true,
    }),
  );
  if (values.sink !== undefined && values['no-sink'] === true) {
    throw new InvalidArgumentError('options (--sink and --no-sink together)');
  }
  // With --config, its audit.witness_file is checked even when --data-dir names the data.
  const config = values.config !== undefined ? loadConfig(values.config) : undefined;
  const dataDir = dataDirOf(values['data-dir'], config);
  const witnessFile =
    values.witness !== undefined ? resolve(values.witness) : config?.audit_witness_file;
  const store = await openStoreOf(dataDir, config);
  let report: AuditReport;
  const shared = isShared(store);
  try {
    // The keys in their configured home (files, or the database with its KEK).
    const publicKeys = await publicKeysFor({ ...config, data_dir: dataDir }, store, process.env);
    // The broker's own sink file with its rotated copies, or a copy gathered elsewhere
    // (e.g. from a stdout collector) in as many parts as --sink names; replicas on a
    // shared store keep none (the database chains the trail).
    const own = join(dataDir, AUDIT_SINK_FILE);
    const sinkFiles =
      values['no-sink'] === true || (values.sink === undefined && shared)
        ? []
        : values.sink !== undefined
          ? values.sink.map((file) => resolve(file))
          : [own, ...rotatedSinkFiles(own)];
    report = await verifyAudit({
      store,
      sinkFile: sinkFiles[0] ?? null,
      rotatedSinkFiles: sinkFiles.slice(1),
      witnessFile,
      publicKeys,
    });
  } finally {
    await store.close();
  }
  output(values.json === true, report, () => summary(report, shared && values['no-sink'] !== true));
  return report.ok ? 0 : 1;
}

function summary(report: AuditReport, shared: boolean): string[] {
  const lines = [
    `audit: ${report.ok ? 'OK' : 'PROBLEMS FOUND'}`,
    `entries            ${report.entries}` +
      (report.head !== undefined ? ` (head seq ${report.head.seq})` : ''),
    `last checkpoint    ${
      report.lastCheckpoint !== undefined
        ? `seq ${report.lastCheckpoint.seq} at ${report.lastCheckpoint.ts}`
        : 'none'
    }`,
    `external sink      ${report.sink ?? (shared ? 'none (replicas on a shared store keep none): entries cut from the end after the last checkpoint cannot be seen' : 'not checked (--no-sink): entries cut from the end after the last checkpoint cannot be seen')}`,
    `witness            ${report.witness ?? 'none: a rollback of both the database and the sink cannot be seen'}`,
  ];
  if (report.problems.length > 0) {
    lines.push(`problems (${report.problems.length}):`);
    for (const p of report.problems) lines.push(`  ${p.kind} at seq ${p.seq}: ${p.message}`);
  }
  if (report.interrupted.length > 0) {
    lines.push(`interrupted invocations (${report.interrupted.length}):`);
    for (const i of report.interrupted) {
      lines.push(
        `  seq ${i.seq} invocation ${i.invocation_id}` +
          (i.ac_id !== undefined ? ` ac ${i.ac_id}` : ''),
      );
    }
  }
  return lines;
}

async function runExport(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args,
      // --json changes nothing: the export is JSON Lines either way.
      options: FLAGS['audit export'],
      strict: true,
    }),
  );
  const config = values.config !== undefined ? loadConfig(values.config) : undefined;
  const dataDir = dataDirOf(values['data-dir'], config);
  let after = 0;
  if (values.after !== undefined) {
    after = /^\d{1,15}$/.test(values.after) ? Number(values.after) : -1;
    if (!Number.isSafeInteger(after) || after < 0) {
      throw new InvalidArgumentError('--after (a seq number)');
    }
  }
  const format = values.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'ocsf' && format !== 'syslog') {
    throw new InvalidArgumentError('--format (jsonl, ocsf or syslog)');
  }
  const store = await openStoreOf(dataDir, config);
  try {
    // jsonl: the entries as they always were; ocsf and syslog: the checkpoint as well.
    const lines =
      format === 'jsonl'
        ? mapAsync(store.iterateAudit(after), (entry) => JSON.stringify(entry))
        : mapAsync(exportRecords(store, after), (record) =>
            format === 'ocsf'
              ? recordText(record, 'ocsf')
              : syslogMessage(record, 'ocsf', { appName: 'bastion' }),
          );
    for await (const line of lines) {
      // Respect the pipe's back-pressure: a large trail must not pile up in memory.
      if (!process.stdout.write(line + '\n')) await once(process.stdout, 'drain');
    }
  } finally {
    await store.close();
  }
  return 0;
}

async function* mapAsync<T>(
  items: AsyncIterable<T>,
  f: (item: T) => string,
): AsyncGenerator<string> {
  for await (const item of items) yield f(item);
}
