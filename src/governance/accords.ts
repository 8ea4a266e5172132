/**
 * Accords are the policy templates an AC is requested under; `decide` is the one place
 * that says whether a request fits one. Checks run in a fixed order (accord, principal,
 * connector, target, capabilities, duration, time window) and each refusal has its own
 * code, with a fixed message that never repeats the request. Argument errors (400) are
 * raised at the step that reads the argument, so a request is judged on policy before
 * anything else it sent is looked at.
 */
import { BastionError, InvalidArgumentError } from '../base/errors.js';
import type { SenderConstrained } from '../credentials/types.js';
import type { Capability } from './capabilities.js';
import { CAPABILITIES, capabilityMask, isCapability } from './capabilities.js';
import { globMatches } from './patterns.js';
import { isRefusedHost } from './refused-hosts.js';
import { canonicalTarget, patternNamesHost, targetHost, targetMatches } from './targets.js';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface TimeWindow {
  /** Days on which the window opens; an overnight window belongs to the day it opens. */
  days: Weekday[];
  /** 'HH:MM', inclusive. */
  start: string;
  /** 'HH:MM' (or '24:00'), exclusive; end < start means the window runs overnight. */
  end: string;
  /** IANA time zone, 'UTC' by default. */
  tz: string;
}

export interface CommandPolicy {
  allow: string[];
  deny: string[];
}

export interface Accord {
  id: string;
  /** did:key DIDs allowed to request ACs under this accord. */
  principals: string[];
  connectors: string[];
  /** Canonical target patterns. */
  targets: string[];
  capabilities: Capability[];
  /** Absent: no command policy (every command allowed). */
  commands?: CommandPolicy | undefined;
  max_duration_seconds: number;
  approvals: { required: number; approvers: string[] };
  /** Absent: any time. */
  time_windows?: TimeWindow[] | undefined;
  /** DIDs who may revoke this accord's ACs. */
  admins: string[];
  /** The login an SSH certificate is issued for; a POSIX name, never '*'. */
  ssh_login?: string | undefined;
  /** For the HTTP connector: path patterns (after the target's base path); deny wins. */
  paths?: CommandPolicy | undefined;
  /** Agent did:keys a principal may delegate an AC of this accord to (RFC 8693 `act`). */
  delegates?: string[] | undefined;
  /**
   * The Kerberos user principal (`alice@EXAMPLE.TEST`) each of `principals` acts as towards
   * the kerberos backend; a principal without one gets no Kerberos ticket.
   */
  kerberos_principals?: ReadonlyMap<string, string> | undefined;
  /** OAuth tokens for this accord's invocations: DPoP-bound (RFC 9449) or bearer. */
  oauth?: { sender_constrained: SenderConstrained } | undefined;
}

export interface AccessRequest {
  principal_did: string;
  accord: string;
  connector: string;
  target: string;
  capabilities: string[];
  duration_seconds: number;
  /** An agent did:key the AC is for, acting on the principal's behalf. */
  delegate_to?: string | undefined;
}

export interface Decision {
  accord: Accord;
  /** Canonical target. */
  target: string;
  /** Deduplicated, in CAPABILITIES order. */
  capabilities: Capability[];
  capability_mask: number;
  duration_seconds: number;
  approvals_required: number;
}

/** Why an access request is refused at authorize; one code per rule (see the catalog). */
export const POLICY_DENIAL_CODES = [
  'unknown_accord',
  'principal_not_allowed',
  'connector_not_allowed',
  'target_not_allowed',
  'target_address_refused',
  'capability_not_granted',
  'duration_exceeds_max',
  'outside_time_window',
  'delegation_not_allowed',
] as const;
export type PolicyDenialCode = (typeof POLICY_DENIAL_CODES)[number];

/** A request the policy refuses; `code` names the rule. */
export class PolicyDeniedError extends BastionError {
  declare readonly code: PolicyDenialCode;
  constructor(code: PolicyDenialCode) {
    super(code);
  }
}

/** More names than there are capabilities, many times over, is not a real request. */
const MAX_REQUESTED_CAPABILITIES = 64;

function requestedCapabilities(names: unknown): Capability[] {
  if (!Array.isArray(names) || names.length === 0 || names.length > MAX_REQUESTED_CAPABILITIES) {
    throw new InvalidArgumentError('capabilities');
  }
  const wanted = new Set<Capability>();
  for (const name of names as unknown[]) {
    if (!isCapability(name)) throw new InvalidArgumentError('capabilities');
    wanted.add(name);
  }
  return CAPABILITIES.filter((name) => wanted.has(name));
}

/** Decides a request against the accords; throws PolicyDeniedError or InvalidArgumentError. */
/**
 * Whether the accord's targets grant `target` (canonical): matched by a pattern, and a
 * link-local, metadata or unspecified host never through a wildcard (`*`, `http://*`) —
 * only a pattern that spells that very host grants it. The broken rule, or undefined.
 */
export function targetRuleBroken(
  accord: Accord,
  target: string,
): 'target_not_allowed' | 'target_address_refused' | undefined {
  if (!accord.targets.some((pattern) => targetMatches(pattern, target))) {
    return 'target_not_allowed';
  }
  if (
    isRefusedHost(targetHost(target) ?? '') &&
    !accord.targets.some((pattern) => patternNamesHost(pattern, target))
  ) {
    return 'target_address_refused';
  }
  return undefined;
}

export function decide(
  accords: ReadonlyMap<string, Accord>,
  request: AccessRequest,
  now: Date,
): Decision {
  const accord = typeof request.accord === 'string' ? accords.get(request.accord) : undefined;
  if (accord === undefined) throw new PolicyDeniedError('unknown_accord');

  if (!accord.principals.includes(request.principal_did)) {
    throw new PolicyDeniedError('principal_not_allowed');
  }
  if (!accord.connectors.includes(request.connector)) {
    throw new PolicyDeniedError('connector_not_allowed');
  }

  if (typeof request.target !== 'string') throw new InvalidArgumentError('target');
  const target = canonicalTarget(request.target);
  const targetRule = targetRuleBroken(accord, target);
  if (targetRule !== undefined) throw new PolicyDeniedError(targetRule);

  const capabilities = requestedCapabilities(request.capabilities);
  if (!capabilities.every((name) => accord.capabilities.includes(name))) {
    throw new PolicyDeniedError('capability_not_granted');
  }

  const duration = request.duration_seconds;
  if (!Number.isSafeInteger(duration) || duration <= 0) {
    throw new InvalidArgumentError('duration_seconds');
  }
  if (duration > accord.max_duration_seconds) {
    throw new PolicyDeniedError('duration_exceeds_max');
  }

  if (accord.time_windows !== undefined && !withinTimeWindows(accord.time_windows, now)) {
    throw new PolicyDeniedError('outside_time_window');
  }

  // Delegation names an agent the accord lists; the agent gets exactly this AC, no more.
  if (
    request.delegate_to !== undefined &&
    !(accord.delegates ?? []).includes(request.delegate_to)
  ) {
    throw new PolicyDeniedError('delegation_not_allowed');
  }

  return {
    accord,
    target,
    capabilities,
    capability_mask: capabilityMask(capabilities),
    duration_seconds: duration,
    approvals_required: accord.approvals.required,
  };
}

// ---------------------------------------------------------------------------------------
// Time windows

const HH_MM = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;

/** Minutes since midnight for 'HH:MM' ('24:00' is 1440, for a window that ends at midnight). */
export function parseClockTime(text: string): number | undefined {
  const match = HH_MM.exec(text);
  if (match === null) return undefined;
  const hours = Number(match[1] ?? match[3]);
  const minutes = Number(match[2] ?? match[4]);
  return hours * 60 + minutes;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let formatter = formatters.get(tz);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(tz, formatter);
  }
  return formatter;
}

/** True when `tz` is a time zone this runtime knows. */
export function isTimeZone(tz: unknown): tz is string {
  if (typeof tz !== 'string' || tz === '' || tz.length > 64) return false;
  try {
    formatterFor(tz);
    return true;
  } catch {
    return false;
  }
}

const SHORT_DAYS: Record<string, number> = {
  Mon: 0,
  Tue: 1,
  Wed: 2,
  Thu: 3,
  Fri: 4,
  Sat: 5,
  Sun: 6,
};

/** The wall-clock weekday (0 = Monday) and minute of the day at `now` in `tz`. */
function localTime(now: Date, tz: string): { day: number; minute: number } {
  // An invalid Date would make Intl throw; it is no time at all, so no window is open.
  if (Number.isNaN(now.getTime())) return { day: -1, minute: -1 };
  let day = -1;
  let hour = -1;
  let minute = -1;
  for (const part of formatterFor(tz).formatToParts(now)) {
    if (part.type === 'weekday') day = SHORT_DAYS[part.value] ?? -1;
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  if (day < 0 || !(hour >= 0 && hour < 24) || !(minute >= 0 && minute < 60)) {
    // An ICU build that formats unexpectedly must not open a window: fail closed.
    return { day: -1, minute: -1 };
  }
  return { day, minute: hour * 60 + minute };
}

/**
 * True when `now` falls inside `window`: on one of its days from `start` (inclusive) to
 * `end` (exclusive) in its zone. When end < start the window runs overnight and its early
 * hours belong to the day it opened on. Wall-clock time is used, so on a DST change a
 * window keeps its local hours and is an hour shorter or longer in absolute time.
 */
export function withinTimeWindow(window: TimeWindow, now: Date): boolean {
  const start = parseClockTime(window.start);
  const end = parseClockTime(window.end);
  if (start === undefined || end === undefined || start === end) return false;
  const { day, minute } = localTime(now, window.tz);
  if (day < 0) return false;
  const opensOn = (d: number): boolean => window.days.includes(WEEKDAYS[d] as Weekday);
  if (start < end) return opensOn(day) && minute >= start && minute < end;
  return (opensOn(day) && minute >= start) || (opensOn((day + 6) % 7) && minute < end);
}

/** True when `now` is inside any of `windows`; an empty list is never open. */
export function withinTimeWindows(windows: readonly TimeWindow[], now: Date): boolean {
  return windows.some((window) => withinTimeWindow(window, now));
}

// ---------------------------------------------------------------------------------------
// Commands

// A newline or NUL makes one "command" several to a shell; no policy pattern can vouch for that.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Whether `command` may run under `commands`. No policy: allowed. Otherwise deny patterns
 * win, then the allow list decides (empty allow list: nothing). Patterns match the whole
 * command string with glob semantics; a command containing control characters is refused
 * whenever a policy exists.
 */
export function commandAllowed(
  commands: { readonly allow: readonly string[]; readonly deny: readonly string[] } | undefined,
  command: string,
): boolean {
  if (commands === undefined) return true;
  if (typeof command !== 'string' || CONTROL.test(command)) return false;
  if (commands.deny.some((pattern) => globMatches(pattern, command))) return false;
  return commands.allow.some((pattern) => globMatches(pattern, command));
}
