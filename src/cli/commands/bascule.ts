/**
 * `bastion bascule --name NAME --jwks URL (--listen HOST:PORT | --socket PATH) [--audit FILE]
 * [--issuer ISS] [--timeout 30s] [--max-output BYTES] [--cwd DIR] [--path PATH]`: the
 * target-side governed-shell runtime. It runs one argv per broker-minted grant, verified
 * against the broker's JWKS; see src/bascule/runtime.ts. The one line on stdout says where
 * it listens; SIGTERM/SIGINT kill running commands, finish their requests and close.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startBascule } from '../../bascule/runtime.js';
import { parseDuration } from '../../base/duration.js';
import { InvalidArgumentError } from '../../base/errors.js';
import { canonicalTarget } from '../../governance/targets.js';
import { DEFAULT_EXEC_LIMITS } from '../../transports/types.js';
import { parseCommandArgs, required, startLine } from '../args.js';
import { FLAGS } from '../flags.js';
import { closeOnSignal, untilSignal } from '../signals.js';
import { parseListen } from './serve.js';

export const DEFAULT_AUDIT_FILE = './bascule-audit.jsonl';
/** A longer wall time than a day is a daemon, not a command (and overflows timers later). */
const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;
/** Both streams travel back in one JSON reply held in memory. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

function parseMaxOutput(value: string | undefined): number {
  if (value === undefined) return DEFAULT_EXEC_LIMITS.maxOutputBytes;
  const bytes = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!(bytes >= 0 && bytes <= MAX_OUTPUT_BYTES))
    throw new InvalidArgumentError('--max-output (bytes, at most 64 MiB)');
  return bytes;
}

function parseTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_EXEC_LIMITS.timeoutMs;
  const seconds = parseDuration(value, '--timeout (a duration such as 30s or 5m)');
  if (seconds > MAX_TIMEOUT_SECONDS) throw new InvalidArgumentError('--timeout (at most 24h)');
  return seconds * 1000;
}

function parseName(value: string): string {
  try {
    return canonicalTarget(value);
  } catch {
    throw new InvalidArgumentError('--name (a hostname or address)');
  }
}

export async function runBascule(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args,
      options: FLAGS.bascule,
      strict: true,
    }),
  );
  const name = parseName(required(values.name, '--name'));
  const jwksUrl = required(values.jwks, '--jwks');
  if ((values.listen === undefined) === (values.socket === undefined))
    throw new InvalidArgumentError('--listen or --socket (exactly one)');
  const listen = values.listen !== undefined ? parseListen(values.listen) : undefined;
  const socket =
    values.socket !== undefined ? resolve(required(values.socket, '--socket')) : undefined;
  const limits = {
    timeoutMs: parseTimeout(values.timeout),
    maxOutputBytes: parseMaxOutput(values['max-output']),
  };

  const bascule = await startBascule({
    name,
    jwksUrl,
    auditFile: resolve(values.audit ?? DEFAULT_AUDIT_FILE),
    limits,
    ...(values.issuer !== undefined ? { issuer: required(values.issuer, '--issuer') } : {}),
    ...(listen !== undefined ? { listen } : {}),
    ...(socket !== undefined ? { socket } : {}),
    ...(values.cwd !== undefined ? { cwd: resolve(values.cwd) } : {}),
    ...(values.path !== undefined ? { pathEnv: required(values.path, '--path') } : {}),
  });
  const stopped = untilSignal(); // before the line scripts wait for
  // For scripts: the one line on stdout says where Bascule is.
  startLine(values.json === true, 'bascule', bascule.url);

  await closeOnSignal(bascule, bascule.app.log, stopped);
  return 0;
}
