/**
 * What every `bastion doctor` check returns: one result with a stable id, a group, a status
 * and a fixed-shape message. Kept apart from the checks so the command only prints, and the
 * JSON output (`--json`) is this very array.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped';

/** In the order the human output shows them. */
export const CHECK_GROUPS = [
  'config',
  'commands',
  'backends',
  'clock',
  'files',
  'audit',
  'store',
] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

export interface CheckResult {
  /** Stable: `group.subject`, e.g. `config.accord.deploy`, `clock.https://idp.example`. */
  readonly id: string;
  readonly group: CheckGroup;
  readonly status: CheckStatus;
  /** One line, in our own words: never a peer's text, a token or a secret. */
  readonly message: string;
  /** Further lines (what a pattern matches, which accords are affected). */
  readonly detail?: readonly string[];
}

export function result(
  group: CheckGroup,
  subject: string,
  status: CheckStatus,
  message: string,
  detail?: readonly string[],
): CheckResult {
  return {
    id: `${group}.${subject}`,
    group,
    status,
    message,
    ...(detail !== undefined && detail.length > 0 && { detail }),
  };
}

/** The worst of `statuses`: fail over warn over ok; skipped counts as ok. */
export function worst(statuses: readonly CheckStatus[]): CheckStatus {
  if (statuses.includes('fail')) return 'fail';
  if (statuses.includes('warn')) return 'warn';
  return 'ok';
}

/** 1 when any check failed; warnings and skipped checks do not fail the run. */
export function exitCodeOf(results: readonly CheckResult[]): 0 | 1 {
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
