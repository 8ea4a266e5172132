/**
 * What a Bascule instance is started with, and the one place those options are checked and
 * given their defaults: a wrong option stops the start before anything is opened or listens.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Clock, systemClock } from '../base/clock.js';
import { ConfigError } from '../base/errors.js';
import { canonicalTarget } from '../governance/targets.js';
import { DEFAULT_EXEC_LIMITS, type ExecLimits } from '../transports/types.js';
import { DEFAULT_CWD, DEFAULT_PATH } from './exec.js';

export const DEFAULT_ISSUER = 'urn:bastion:broker';

export interface BasculeOptions {
  /** This instance's canonical target name (what grants name in `ctx.target` and `aud`). */
  readonly name: string;
  /** The broker's JWKS URL: https, or http to a loopback address. */
  readonly jwksUrl: string;
  /** Expected grant `iss`; default urn:bastion:broker. */
  readonly issuer?: string | undefined;
  /** TCP listener; exactly one of `listen` and `socket`. */
  readonly listen?: { readonly host: string; readonly port: number } | undefined;
  /** Unix socket path, created 0600 (a dead socket left by a crash is replaced). */
  readonly socket?: string | undefined;
  /** The audit file (JSON Lines, 0600), created or resumed. */
  readonly auditFile: string;
  readonly limits?: ExecLimits | undefined;
  /** Working directory and HOME of commands; default `/`. */
  readonly cwd?: string | undefined;
  /** PATH of commands; default /usr/local/bin:/usr/bin:/bin. */
  readonly pathEnv?: string | undefined;
  /** Allowance for clock differences on grant times; default 30 s. */
  readonly skewMs?: number | undefined;
  readonly clock?: Clock | undefined;
  /** Least time between two JWKS fetches; default 10 s. */
  readonly jwksMinRefreshMs?: number | undefined;
  /** Where JSON log lines go; stderr by default, `false` silences them. */
  readonly logDestination?: NodeJS.WritableStream | false | undefined;
}

/** The options once checked, defaults filled in. */
export interface BasculeSettings {
  readonly clock: Clock;
  readonly name: string;
  readonly issuer: string;
  /** The `aud` of grants for this instance. */
  readonly audience: string;
  readonly skewMs: number;
  readonly limits: ExecLimits;
  readonly cwd: string;
  readonly pathEnv: string;
}

/** The `aud` of grants for this instance; the broker's bascule backend mints the same. */
function audienceFor(name: string): string {
  return `urn:bastion:bascule:${name}`;
}

function checkLimits(limits: ExecLimits): ExecLimits {
  // Node timers hold at most 2^31 − 1 ms; a larger timeout would fire at once.
  if (
    !Number.isSafeInteger(limits.timeoutMs) ||
    limits.timeoutMs <= 0 ||
    limits.timeoutMs > 2 ** 31 - 1
  )
    throw new ConfigError('limits.timeoutMs', 'must be a whole number of ms, at most 24 days');
  if (!Number.isSafeInteger(limits.maxOutputBytes) || limits.maxOutputBytes < 0)
    throw new ConfigError('limits.maxOutputBytes', 'must be a whole number of bytes');
  return limits;
}

function checkCwd(cwd: string | undefined): string {
  const dir = resolve(cwd ?? DEFAULT_CWD);
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  // Checked here so that a missing directory is not later taken for a missing command.
  if (!ok) throw new ConfigError('--cwd', 'must be an existing directory');
  return dir;
}

/** Checks `options` in a fixed order, the first wrong one a ConfigError. */
export function checkOptions(options: BasculeOptions): BasculeSettings {
  const clock = options.clock ?? systemClock;
  const name = options.name;
  let canonical: string | undefined;
  try {
    canonical = canonicalTarget(name);
  } catch {
    canonical = undefined;
  }
  if (canonical !== name) throw new ConfigError('--name', 'must be a canonical target name');
  if ((options.listen === undefined) === (options.socket === undefined))
    throw new ConfigError('--listen/--socket', 'exactly one is required');
  if (options.socket === '') throw new ConfigError('--socket', 'must be a path');
  const issuer = options.issuer ?? DEFAULT_ISSUER;
  const audience = audienceFor(name);
  const skewMs = options.skewMs ?? 30_000;
  if (!Number.isSafeInteger(skewMs) || skewMs < 0 || skewMs > 5 * 60_000)
    throw new ConfigError('skewMs', 'must be between 0 and 5 minutes');
  const limits = checkLimits(options.limits ?? DEFAULT_EXEC_LIMITS);
  const cwd = checkCwd(options.cwd);
  const pathEnv = options.pathEnv ?? DEFAULT_PATH;
  return { clock, name, issuer, audience, skewMs, limits, cwd, pathEnv };
}
