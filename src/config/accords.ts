/**
 * The `accords:` list: the schema of one accord and its normalisation into an Accord
 * (governance/accords.ts). Strict on purpose: unknown keys, duplicate entries and
 * contradictions (more required approvals than approvers, an empty time window) are
 * errors, because a typo in policy must never silently widen or weaken it.
 */
import { z } from 'zod';
import { checked, duration } from '../base/fields.js';
import type { Accord, CommandPolicy, TimeWindow } from '../governance/accords.js';
import { isTimeZone, parseClockTime, WEEKDAYS } from '../governance/accords.js';
import type { Capability } from '../governance/capabilities.js';
import { CAPABILITIES } from '../governance/capabilities.js';
import { globProblem } from '../governance/patterns.js';
import { isUserPrincipalText } from '../kerberos/principal.js';
import { SENDER_CONSTRAINED } from '../credentials/types.js';
import { targetPatternField } from '../governance/target-field.js';
import { distinct, Invalid, type Path } from './report.js';

const DID_PATTERN = /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/;
const ACCORD_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const CONNECTOR_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
const POSIX_LOGIN_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;

const DID_REASON =
  'must be a did:key DID of an Ed25519 key (did:key:z6Mk followed by 44 base58 characters)';
const did = z.string({ error: DID_REASON }).regex(DID_PATTERN, { error: DID_REASON });
export const didList = z.array(did, { error: 'must be a list of did:key DIDs' });

const glob = checked((value) => {
  const why = globProblem(value);
  return why === undefined ? { ok: true, value: value as string } : { ok: false, why };
});

const kerberosUser = checked((value) =>
  isUserPrincipalText(value)
    ? { ok: true, value }
    : {
        ok: false,
        why: 'must be a Kerberos user principal name@REALM (realm of A-Z, 0-9, ".", "-"; no "/", wildcard or whitespace)',
      },
);

const targetPattern = targetPatternField(
  'must be a hostname, IPv4 or IPv6 address, or http(s) URL, optionally with * and ? wildcards (an IPv4 pattern spells four octets; IPv6 and ports take no wildcards)',
);

const clockTime = (allowEndOfDay: boolean) =>
  checked((value) => {
    const minutes = typeof value === 'string' ? parseClockTime(value) : undefined;
    if (minutes === undefined || (!allowEndOfDay && minutes === 1440)) {
      const range = allowEndOfDay ? '00:00 to 24:00' : '00:00 to 23:59';
      return { ok: false, why: `must be a time of day as HH:MM (${range})` };
    }
    return { ok: true, value: value as string };
  });

const timeZone = checked((value) =>
  isTimeZone(value)
    ? { ok: true, value }
    : { ok: false, why: 'must be an IANA time zone name such as UTC or Europe/Paris' },
);

const timeWindow = z.strictObject(
  {
    days: z
      .array(z.enum(WEEKDAYS, { error: 'must be one of mon, tue, wed, thu, fri, sat, sun' }), {
        error: 'must be a list of weekdays',
      })
      .min(1, { error: 'must list at least one day' }),
    start: clockTime(false),
    end: clockTime(true),
    tz: timeZone.optional(),
  },
  { error: 'must be a mapping with days, start, end and optionally tz' },
);

export const accordSchema = z.strictObject(
  {
    id: z.string({ error: 'must be a string' }).regex(ACCORD_ID_PATTERN, {
      error:
        'must be 1-64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit',
    }),
    principals: didList.min(1, { error: 'must list at least one principal' }),
    connectors: z
      .array(
        z.string({ error: 'must be a string' }).regex(CONNECTOR_PATTERN, {
          error: 'must be a connector name: a-z first, then up to 31 of a-z, 0-9, "_" or "-"',
        }),
        { error: 'must be a list of connector names' },
      )
      .min(1, { error: 'must list at least one connector' }),
    targets: z
      .array(targetPattern, { error: 'must be a list of target patterns' })
      .min(1, { error: 'must list at least one target' }),
    capabilities: z
      .array(
        z.enum(CAPABILITIES as [Capability, ...Capability[]], {
          error: `must be one of ${CAPABILITIES.join(', ')}`,
        }),
        { error: 'must be a list of capabilities' },
      )
      .min(1, { error: 'must list at least one capability' }),
    commands: z
      .strictObject(
        {
          allow: z.array(glob, { error: 'must be a list of command patterns' }).optional(),
          deny: z.array(glob, { error: 'must be a list of command patterns' }).optional(),
        },
        { error: 'must be a mapping with allow and/or deny lists' },
      )
      .optional(),
    paths: z
      .strictObject(
        {
          allow: z.array(glob, { error: 'must be a list of path patterns' }).optional(),
          deny: z.array(glob, { error: 'must be a list of path patterns' }).optional(),
        },
        { error: 'must be a mapping with allow and/or deny lists' },
      )
      .optional(),
    delegates: didList.optional(),
    max_duration: duration(),
    approvals: z
      .strictObject(
        {
          required: z
            .int({ error: 'must be a whole number' })
            .min(0, { error: 'must not be negative' }),
          approvers: didList.optional(),
        },
        { error: 'must be a mapping with required and optionally approvers' },
      )
      .optional(),
    time_windows: z
      .array(timeWindow, { error: 'must be a list of time windows' })
      .min(1, { error: 'must list at least one time window (omit the key for any time)' })
      .optional(),
    admins: didList.optional(),
    ssh_login: z
      .string({ error: 'must be a string' })
      .regex(POSIX_LOGIN_PATTERN, {
        error:
          'must be a POSIX login name: a-z or "_" first, then up to 31 of a-z, 0-9, "_" or "-"',
      })
      .optional(),
    kerberos_principals: z
      .record(did, kerberosUser, {
        error: 'must be a mapping from did:key DIDs to Kerberos user principals',
      })
      .optional(),
    oauth: z
      .strictObject(
        {
          sender_constrained: z.enum(SENDER_CONSTRAINED, {
            error: `must be one of ${SENDER_CONSTRAINED.join(', ')}`,
          }),
        },
        { error: 'must be a mapping with sender_constrained' },
      )
      .optional(),
  },
  { error: 'must be a mapping' },
);

type RawAccord = z.output<typeof accordSchema>;

function toCommands(raw: RawAccord['commands'], path: Path): CommandPolicy | undefined {
  if (raw === undefined) return undefined;
  // Present but silent on a side: allow everything, deny nothing (the other side decides).
  const allow = raw.allow ?? ['*'];
  const deny = raw.deny ?? [];
  distinct(allow, [...path, 'allow']);
  distinct(deny, [...path, 'deny']);
  return { allow, deny };
}

function toTimeWindows(raw: RawAccord['time_windows'], path: Path): TimeWindow[] | undefined {
  return raw?.map((window, index) => {
    distinct(window.days, [...path, index, 'days']);
    if (parseClockTime(window.start) === parseClockTime(window.end)) {
      throw new Invalid([...path, index, 'end'], 'must differ from start');
    }
    return {
      days: window.days,
      start: window.start,
      end: window.end,
      tz: window.tz ?? 'UTC',
    };
  });
}

/** Each mapped DID must be one of the accord's principals: a mapping grants nobody new. */
function toKerberosPrincipals(raw: RawAccord, path: Path): ReadonlyMap<string, string> | undefined {
  if (raw.kerberos_principals === undefined) return undefined;
  const map = new Map<string, string>();
  for (const [did, principal] of Object.entries(raw.kerberos_principals)) {
    if (!raw.principals.includes(did)) {
      throw new Invalid([...path, did], "must be one of the accord's principals");
    }
    map.set(did, principal);
  }
  return map;
}

function toAccord(raw: RawAccord, path: Path): Accord {
  distinct(raw.principals, [...path, 'principals']);
  distinct(raw.connectors, [...path, 'connectors']);
  distinct(raw.targets, [...path, 'targets']);
  distinct(raw.capabilities, [...path, 'capabilities']);
  const approvers = raw.approvals?.approvers ?? [];
  const required = raw.approvals?.required ?? 0;
  distinct(approvers, [...path, 'approvals', 'approvers']);
  if (required > approvers.length) {
    throw new Invalid(
      [...path, 'approvals', 'required'],
      'must not exceed the number of approvers',
    );
  }
  const admins = raw.admins ?? [];
  distinct(admins, [...path, 'admins']);
  const commands = toCommands(raw.commands, [...path, 'commands']);
  const paths = toCommands(raw.paths, [...path, 'paths']);
  const delegates = raw.delegates ?? [];
  distinct(delegates, [...path, 'delegates']);
  const timeWindows = toTimeWindows(raw.time_windows, [...path, 'time_windows']);
  const kerberos = toKerberosPrincipals(raw, [...path, 'kerberos_principals']);
  // Without a login no SSH certificate can be issued: say so now, not as a 502 at use.
  if (raw.connectors.includes('ssh') && raw.ssh_login === undefined) {
    throw new Invalid(
      [...path, 'ssh_login'],
      `is required: accord ${raw.id} allows the ssh connector`,
    );
  }
  const accord: Accord = {
    id: raw.id,
    principals: raw.principals,
    connectors: raw.connectors,
    targets: raw.targets,
    // In CAPABILITIES order, like a Decision's.
    capabilities: CAPABILITIES.filter((name) => raw.capabilities.includes(name)),
    max_duration_seconds: raw.max_duration,
    approvals: { required, approvers },
    admins,
  };
  if (commands !== undefined) accord.commands = commands;
  if (timeWindows !== undefined) accord.time_windows = timeWindows;
  if (raw.ssh_login !== undefined) accord.ssh_login = raw.ssh_login;
  if (paths !== undefined) accord.paths = paths;
  if (delegates.length > 0) accord.delegates = delegates;
  if (kerberos !== undefined) accord.kerberos_principals = kerberos;
  if (raw.oauth !== undefined) accord.oauth = { sender_constrained: raw.oauth.sender_constrained };
  return accord;
}

/** The accords in file order, and by id; a repeated id is an error at its second place. */
export function toAccords(raw: readonly RawAccord[]): {
  accords: Accord[];
  accordsById: Map<string, Accord>;
} {
  const accords: Accord[] = [];
  const accordsById = new Map<string, Accord>();
  const firstIndex = new Map<string, number>();
  raw.forEach((rawAccord, index) => {
    const earlier = firstIndex.get(rawAccord.id);
    if (earlier !== undefined) {
      throw new Invalid(['accords', index, 'id'], `duplicates the id of accords[${earlier}]`);
    }
    firstIndex.set(rawAccord.id, index);
    const accord = toAccord(rawAccord, ['accords', index]);
    accords.push(accord);
    accordsById.set(accord.id, accord);
  });
  return { accords, accordsById };
}
