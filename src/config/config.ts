/**
 * The configuration file: YAML, validated with zod, normalised into BastionConfig.
 *
 * Strict on purpose: unknown keys, duplicate keys and duplicate list entries are errors,
 * because a typo in policy must never silently widen or weaken it. Every failure is one
 * ConfigError whose `where` is `<file>: <key path>` (or a line and column for YAML syntax)
 * and whose `why` is text written here. Neither ever carries a value from the file: a
 * token pasted into the wrong key must not end up in a log. Key names are quoted only when
 * they look like key names.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument, visit } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../base/errors.js';
import type { Accord, CommandPolicy, TimeWindow } from '../governance/accords.js';
import { isTimeZone, parseClockTime, WEEKDAYS } from '../governance/accords.js';
import type { Capability } from '../governance/capabilities.js';
import { CAPABILITIES } from '../governance/capabilities.js';
import { globProblem } from '../governance/patterns.js';
import { canonicalTarget, canonicalTargetPattern, targetKind } from '../governance/targets.js';
import { tryParseDuration } from './duration.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface BastionConfig {
  /** Absolute path of the file this came from (as resolved from the name given). */
  file: string;
  listen: { host: string; port: number };
  /** Absolute; a relative `data_dir` is resolved against the config file's directory. */
  data_dir: string;
  /** Canonical `scheme://host[:port][/path]` the broker is reached at (DPoP `htu`). */
  public_url?: string | undefined;
  issuer: string;
  audience: string;
  clock_skew_seconds: number;
  /** Broker-wide admins (did:key DIDs). */
  admins: string[];
  limits: {
    body_bytes: number;
    rate_per_minute: number;
    /** Bytes kept per output stream of an invocation. */
    output_bytes: number;
    exec_timeout_seconds: number;
  };
  connectors: ConnectorsConfig;
  backends: BackendsConfig;
  /** Absent: the logger's own default applies. */
  log_level?: LogLevel | undefined;
  accords: Accord[];
  accordsById: ReadonlyMap<string, Accord>;
}

export interface OAuthExchangeConfig {
  id?: string | undefined;
  token_endpoint: string;
  revocation_endpoint?: string | undefined;
  issuer: string;
  client_id: string;
  client_secret_env?: string | undefined;
  timeout_seconds?: number | undefined;
}

export interface EntraConfig {
  id?: string | undefined;
  authority: string;
  client_id: string;
  client_secret_env?: string | undefined;
  known_authorities?: string[] | undefined;
  /** Absolute paths. */
  authority_metadata_file?: string | undefined;
  protocol_mode?: 'AAD' | 'OIDC' | undefined;
  tls_ca_file?: string | undefined;
  assertion_audience?: string | undefined;
  timeout_seconds?: number | undefined;
}

/** Credential backends, tried in this order: oauth_exchange, entra, then the embedded ones. */
export interface BackendsConfig {
  oauth_exchange: OAuthExchangeConfig[];
  entra: EntraConfig[];
  dev: boolean;
}

export interface ConnectorsConfig {
  ssh: {
    /** Absolute path of an OpenSSH known_hosts file; no file means no host is trusted. */
    known_hosts?: string | undefined;
    port: number;
    /** Per canonical target name: where to connect, when not the name itself. */
    hosts: ReadonlyMap<string, { address?: string | undefined; port?: number | undefined }>;
  };
  bascule: {
    /** Per canonical target name: the runtime's endpoint (http URL or unix:/path). */
    targets: ReadonlyMap<string, string>;
  };
}

export const CONFIG_DEFAULTS = {
  issuer: 'urn:bastion:broker',
  audience: 'urn:bastion:connectors',
  clock_skew_seconds: 30,
  body_bytes: 16_384,
  rate_per_minute: 120,
  output_bytes: 1_048_576,
  exec_timeout_seconds: 30,
  ssh_port: 22,
} as const;

const MAX_CLOCK_SKEW_SECONDS = 300;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const MAX_EXEC_TIMEOUT_SECONDS = 3600;
const MIN_BODY_BYTES = 1024;
const MAX_BODY_BYTES = 1_048_576;
/** A configuration file is a page of policy, not a data set. */
export const MAX_CONFIG_BYTES = 1_048_576;
/** Enough for sharing a list by anchor, far too few for an alias bomb. */
const MAX_ALIAS_COUNT = 16;

const DID_PATTERN = /^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/;
const ACCORD_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const CONNECTOR_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
const POSIX_LOGIN_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;
const LISTEN_PATTERN = /^(\[[^\]]*\]|[^:[\]]+):(0|[1-9]\d{0,4})$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

// ---------------------------------------------------------------------------------------
// Field schemas. Every schema carries its own message so that no zod wording (which may
// change between versions) reaches an operator; `fallbackMessage` covers anything missed.

type Check<T> = { ok: true; value: T } | { ok: false; why: string };

/**
 * A field validated by plain code. A missing value is reported as required; wrap the result
 * in `.optional()` for an optional field (zod then skips it when absent).
 */
function checked<T>(fn: (value: unknown) => Check<T>) {
  return z.unknown().transform((value, ctx): T => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is required' });
      return z.NEVER;
    }
    const result = fn(value);
    if (!result.ok) {
      ctx.addIssue({ code: 'custom', message: result.why });
      return z.NEVER;
    }
    return result.value;
  });
}

const DID_REASON =
  'must be a did:key DID of an Ed25519 key (did:key:z6Mk followed by 44 base58 characters)';
const did = z.string({ error: DID_REASON }).regex(DID_PATTERN, { error: DID_REASON });
const didList = z.array(did, { error: 'must be a list of did:key DIDs' });

const text = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(256, { error: 'must be at most 256 characters long' })
  .refine((value) => !CONTROL.test(value), { error: 'must not contain control characters' });

const glob = checked((value) => {
  const why = globProblem(value);
  return why === undefined ? { ok: true, value: value as string } : { ok: false, why };
});

const duration = (max?: number) =>
  checked((value) => {
    const result = tryParseDuration(value);
    if (!result.ok) return { ok: false, why: result.reason };
    if (max !== undefined && result.seconds > max) {
      return { ok: false, why: `must be at most ${max} seconds` };
    }
    return { ok: true, value: result.seconds };
  });

const targetPattern = checked((value) => {
  try {
    if (typeof value !== 'string') throw new TypeError();
    return { ok: true, value: canonicalTargetPattern(value) };
  } catch {
    return {
      ok: false,
      why: 'must be a hostname, IPv4 or IPv6 address, or http(s) URL, optionally with * and ? wildcards (an IPv4 pattern spells four octets; IPv6 and ports take no wildcards)',
    };
  }
});

const listen = checked((value) => {
  const why =
    'must be host:port with a port of 0-65535; an IPv6 host goes in brackets, quoted in YAML ("[::1]:8443")';
  if (typeof value !== 'string') return { ok: false, why };
  const match = LISTEN_PATTERN.exec(value);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) return { ok: false, why };
  const host = match[1] ?? '';
  const kind = targetKind(host);
  if (kind === undefined || kind === 'url') return { ok: false, why };
  // Bracketed IPv6 in, bare out: what net.Server#listen expects.
  return { ok: true, value: { host: canonicalTarget(host), port } };
});

const publicUrl = checked((value) => {
  const why = 'must be an http(s) URL without credentials, query or fragment';
  if (typeof value !== 'string' || targetKind(value) !== 'url') return { ok: false, why };
  return { ok: true, value: canonicalTarget(value) };
});

const dataDir = z
  .string({ error: 'must be a directory path' })
  .min(1, { error: 'must not be empty' })
  .max(4096, { error: 'must be at most 4096 characters long' })
  .refine((value) => !CONTROL.test(value), { error: 'must not contain control characters' });

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

const accordSchema = z.strictObject(
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
  },
  { error: 'must be a mapping' },
);

const targetName = checked((value) => {
  try {
    if (typeof value !== 'string') throw new TypeError();
    return { ok: true, value: canonicalTarget(value) };
  } catch {
    return { ok: false, why: 'must be a hostname or IP address' };
  }
});

const port = z
  .int({ error: 'must be a whole number' })
  .min(1, { error: 'must be at least 1' })
  .max(65535, { error: 'must be at most 65535' });

const basculeEndpoint = checked((value) => {
  const why = 'must be an http:// URL or unix:/absolute/socket/path';
  if (typeof value !== 'string' || CONTROL.test(value)) return { ok: false, why };
  if (/^unix:\/[^\0]+$/.test(value)) return { ok: true, value };
  if (targetKind(value) !== 'url' || !value.startsWith('http')) return { ok: false, why };
  return { ok: true, value: canonicalTarget(value) };
});

const connectorsSchema = z.strictObject(
  {
    ssh: z
      .strictObject(
        {
          known_hosts: dataDir.optional(),
          port: port.optional(),
          hosts: z
            .record(
              z.string(),
              z.strictObject(
                { address: text.optional(), port: port.optional() },
                { error: 'must be a mapping with address and/or port' },
              ),
              { error: 'must be a mapping of target names' },
            )
            .optional(),
        },
        { error: 'must be a mapping' },
      )
      .optional(),
    bascule: z
      .strictObject(
        {
          targets: z.record(z.string(), basculeEndpoint, {
            error: 'must be a mapping of target names to endpoints',
          }),
        },
        { error: 'must be a mapping' },
      )
      .optional(),
  },
  { error: 'must be a mapping' },
);

const envName = z
  .string({ error: 'must be an environment variable name' })
  .regex(/^[A-Z_][A-Z0-9_]{0,63}$/, { error: 'must be an environment variable name' });
const backendId = z
  .string({ error: 'must be a backend id' })
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, { error: 'must be a backend id ([a-z0-9._-])' });
const endpointUrl = checked((value) => {
  const why = 'must be an https URL (http only to a loopback address)';
  if (typeof value !== 'string' || CONTROL.test(value)) return { ok: false, why };
  try {
    const u = new URL(value);
    const loopback =
      u.hostname === '127.0.0.1' || u.hostname === '[::1]' || u.hostname === 'localhost';
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) return { ok: false, why };
    if (u.username !== '' || u.password !== '' || u.hash !== '') return { ok: false, why };
    return { ok: true, value: u.toString().replace(/\/$/, '') };
  } catch {
    return { ok: false, why };
  }
});

const oauthExchangeSchema = z.strictObject(
  {
    id: backendId.optional(),
    token_endpoint: endpointUrl,
    revocation_endpoint: endpointUrl.optional(),
    issuer: text,
    client_id: text,
    /** The client secret, by environment variable: then client_secret_basic, else private_key_jwt. */
    client_secret_env: envName.optional(),
    timeout: duration(120).optional(),
  },
  { error: 'must be a mapping' },
);

const entraSchema = z.strictObject(
  {
    id: backendId.optional(),
    authority: endpointUrl,
    client_id: text,
    client_secret_env: envName.optional(),
    known_authorities: z.array(text, { error: 'must be a list of host names' }).optional(),
    authority_metadata_file: dataDir.optional(),
    protocol_mode: z.enum(['AAD', 'OIDC'], { error: 'must be AAD or OIDC' }).optional(),
    tls_ca_file: dataDir.optional(),
    assertion_audience: text.optional(),
    timeout: duration(120).optional(),
  },
  { error: 'must be a mapping' },
);

const backendsSchema = z.strictObject(
  {
    oauth_exchange: z.array(oauthExchangeSchema, { error: 'must be a list' }).optional(),
    entra: z.array(entraSchema, { error: 'must be a list' }).optional(),
    /** The embedded dev backend: on by default; turn it off in production. */
    dev: z.boolean({ error: 'must be true or false' }).optional(),
  },
  { error: 'must be a mapping' },
);

const configSchema = z.strictObject(
  {
    listen: listen.optional(),
    data_dir: dataDir.optional(),
    public_url: publicUrl.optional(),
    issuer: text.optional(),
    audience: text.optional(),
    clock_skew: duration(MAX_CLOCK_SKEW_SECONDS).optional(),
    admins: didList.optional(),
    limits: z
      .strictObject(
        {
          body_bytes: z
            .int({ error: 'must be a whole number' })
            .min(MIN_BODY_BYTES, { error: `must be at least ${MIN_BODY_BYTES}` })
            .max(MAX_BODY_BYTES, { error: `must be at most ${MAX_BODY_BYTES}` })
            .optional(),
          rate_per_minute: z
            .int({ error: 'must be a whole number' })
            .min(1, { error: 'must be at least 1' })
            .optional(),
          output_bytes: z
            .int({ error: 'must be a whole number' })
            .min(1024, { error: 'must be at least 1024' })
            .max(MAX_OUTPUT_BYTES, { error: `must be at most ${MAX_OUTPUT_BYTES}` })
            .optional(),
          exec_timeout: duration(MAX_EXEC_TIMEOUT_SECONDS).optional(),
        },
        { error: 'must be a mapping' },
      )
      .optional(),
    log_level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
    connectors: connectorsSchema.optional(),
    backends: backendsSchema.optional(),
    accords: z.array(accordSchema, { error: 'must be a list of accords' }),
  },
  { error: 'the file must hold a YAML mapping' },
);

type RawConfig = z.output<typeof configSchema>;
type RawAccord = z.output<typeof accordSchema>;

// ---------------------------------------------------------------------------------------
// Error reporting

type Path = readonly PropertyKey[];

// Our keys are short lowercase words. Anything with a digit or over 32 characters is more
// likely a pasted token than a misspelt key, so it is not repeated back.
const PRINTABLE_KEY = /^[A-Za-z_][A-Za-z_-]{0,31}$/;

function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') {
      out += `[${key}]`;
      continue;
    }
    // A "key" that does not look like one may be a pasted value: name it without quoting it.
    const name = typeof key === 'string' && PRINTABLE_KEY.test(key) ? key : '(unrecognised key)';
    out += out === '' ? name : `.${name}`;
  }
  return out === '' ? '(top level)' : out;
}

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = Object.hasOwn(node, key) ? (node as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return node;
}

/** Used only for an issue whose schema forgot its own message. */
function fallbackMessage(issue: { code?: string }): string {
  return issue.code === 'invalid_type' ? 'has the wrong type' : 'is not valid';
}

function issueToError(
  fileName: string,
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
): ConfigError {
  // An unknown key explains a missing required one (`max_duraton`), so it is reported first.
  const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
  if (issue === undefined) return new ConfigError(fileName, 'is not valid');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return new ConfigError(
      `${fileName}: ${formatPath([...issue.path, key])}`,
      'is not a known key',
    );
  }
  const where = `${fileName}: ${formatPath(issue.path)}`;
  if (issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined) {
    return new ConfigError(where, 'is required');
  }
  return new ConfigError(where, issue.message);
}

/** A cross-field rule broke; `path` names the offending key. */
class Invalid extends Error {
  constructor(
    readonly path: Path,
    readonly why: string,
  ) {
    super(why);
  }
}

function distinct(values: readonly string[], path: Path): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value)) throw new Invalid([...path, index], 'duplicates an earlier entry');
    seen.add(value);
  });
}

// ---------------------------------------------------------------------------------------
// Normalisation

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
  return accord;
}

/** Defaults for keys the file may omit; the environment overrides them (flags override the file). */
export const ENV_DEFAULTS = {
  listen: { variable: 'BASTION_LISTEN', value: '127.0.0.1:8443' },
  data_dir: { variable: 'BASTION_DATA_DIR', value: '.bastion' },
  public_url: { variable: 'BASTION_PUBLIC_URL' },
} as const;

function fromEnv<T>(schema: z.ZodType<T>, variable: string, env: NodeJS.ProcessEnv): T | undefined {
  const value = env[variable];
  if (value === undefined || value === '') return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(`environment variable ${variable}`, 'is not valid for its setting');
  }
  return parsed.data;
}

function toConnectors(raw: RawConfig['connectors'], file: string): ConnectorsConfig {
  const hosts = new Map<string, { address?: string | undefined; port?: number | undefined }>();
  for (const [name, host] of Object.entries(raw?.ssh?.hosts ?? {})) {
    const canonical = targetName.safeParse(name);
    if (!canonical.success)
      throw new Invalid(['connectors', 'ssh', 'hosts'], 'keys must be hostnames or IP addresses');
    hosts.set(canonical.data, host);
  }
  const targets = new Map<string, string>();
  for (const [name, endpoint] of Object.entries(raw?.bascule?.targets ?? {})) {
    const canonical = targetName.safeParse(name);
    if (!canonical.success)
      throw new Invalid(
        ['connectors', 'bascule', 'targets'],
        'keys must be hostnames or IP addresses',
      );
    targets.set(canonical.data, endpoint);
  }
  const knownHosts = raw?.ssh?.known_hosts;
  return {
    ssh: {
      ...(knownHosts !== undefined ? { known_hosts: resolve(dirname(file), knownHosts) } : {}),
      port: raw?.ssh?.port ?? CONFIG_DEFAULTS.ssh_port,
      hosts,
    },
    bascule: { targets },
  };
}

function toBackends(raw: RawConfig['backends'], file: string): BackendsConfig {
  const at = (path: string | undefined) =>
    path === undefined ? undefined : resolve(dirname(file), path);
  return {
    oauth_exchange: (raw?.oauth_exchange ?? []).map(({ timeout, ...b }) => ({
      ...b,
      ...(timeout !== undefined ? { timeout_seconds: timeout } : {}),
    })),
    entra: (raw?.entra ?? []).map(({ timeout, authority_metadata_file, tls_ca_file, ...b }) => ({
      ...b,
      ...(timeout !== undefined ? { timeout_seconds: timeout } : {}),
      ...(authority_metadata_file !== undefined
        ? { authority_metadata_file: at(authority_metadata_file) }
        : {}),
      ...(tls_ca_file !== undefined ? { tls_ca_file: at(tls_ca_file) } : {}),
    })),
    dev: raw?.dev ?? true,
  };
}

function normalise(raw: RawConfig, file: string, env: NodeJS.ProcessEnv): BastionConfig {
  const admins = raw.admins ?? [];
  distinct(admins, ['admins']);
  const accords: Accord[] = [];
  const accordsById = new Map<string, Accord>();
  const firstIndex = new Map<string, number>();
  raw.accords.forEach((rawAccord, index) => {
    const earlier = firstIndex.get(rawAccord.id);
    if (earlier !== undefined) {
      throw new Invalid(['accords', index, 'id'], `duplicates the id of accords[${earlier}]`);
    }
    firstIndex.set(rawAccord.id, index);
    const accord = toAccord(rawAccord, ['accords', index]);
    accords.push(accord);
    accordsById.set(accord.id, accord);
  });
  const config: BastionConfig = {
    file,
    listen:
      raw.listen ??
      fromEnv(listen, ENV_DEFAULTS.listen.variable, env) ??
      listen.parse(ENV_DEFAULTS.listen.value),
    // A relative path in the file is relative to the file; in the environment, to the cwd.
    data_dir:
      raw.data_dir !== undefined
        ? resolve(dirname(file), raw.data_dir)
        : resolve(
            fromEnv(dataDir, ENV_DEFAULTS.data_dir.variable, env) ??
              join(dirname(file), ENV_DEFAULTS.data_dir.value),
          ),
    issuer: raw.issuer ?? CONFIG_DEFAULTS.issuer,
    audience: raw.audience ?? CONFIG_DEFAULTS.audience,
    clock_skew_seconds: raw.clock_skew ?? CONFIG_DEFAULTS.clock_skew_seconds,
    admins,
    limits: {
      body_bytes: raw.limits?.body_bytes ?? CONFIG_DEFAULTS.body_bytes,
      rate_per_minute: raw.limits?.rate_per_minute ?? CONFIG_DEFAULTS.rate_per_minute,
      output_bytes: raw.limits?.output_bytes ?? CONFIG_DEFAULTS.output_bytes,
      exec_timeout_seconds: raw.limits?.exec_timeout ?? CONFIG_DEFAULTS.exec_timeout_seconds,
    },
    connectors: toConnectors(raw.connectors, file),
    backends: toBackends(raw.backends, file),
    accords,
    accordsById,
  };
  const publicUrlValue =
    raw.public_url ?? fromEnv(publicUrl, ENV_DEFAULTS.public_url.variable, env);
  if (publicUrlValue !== undefined) config.public_url = publicUrlValue;
  if (raw.log_level !== undefined) config.log_level = raw.log_level;
  return config;
}

// ---------------------------------------------------------------------------------------
// Entry points

const YAML_REASONS: Record<string, string> = {
  DUPLICATE_KEY: 'repeats a key already set in the same mapping',
  MULTIPLE_DOCS: 'starts a second YAML document; the file must hold exactly one',
  NON_STRING_KEY: 'uses a non-scalar mapping key',
  TAG_RESOLVE_FAILED: 'uses a YAML tag this loader does not know',
  BAD_INDENT: 'is not valid YAML (bad indentation)',
  TAB_AS_INDENT: 'is not valid YAML (a tab used as indentation)',
  MISSING_CHAR: 'is not valid YAML (a closing quote or bracket is missing)',
  BAD_ALIAS: 'is not valid YAML (an alias to an unknown anchor)',
};

/**
 * Parses configuration text. `fileName` labels errors and anchors a relative `data_dir`
 * (it is resolved against the current directory if relative). Throws ConfigError.
 */
export function parseConfig(
  text: string,
  fileName: string,
  env: NodeJS.ProcessEnv = process.env,
): BastionConfig {
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) {
    throw new ConfigError(fileName, `is larger than ${MAX_CONFIG_BYTES} bytes`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.2',
    schema: 'core',
    merge: false,
    uniqueKeys: true,
    stringKeys: true,
    prettyErrors: false,
    lineCounter,
  });
  // YAML's own messages quote the offending source line, so only its code is used; any
  // warning (an unknown tag, say) is as fatal as an error.
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem !== undefined) {
    const { line, col } = lineCounter.linePos(problem.pos[0]);
    const why =
      YAML_REASONS[problem.code] ??
      `is not valid YAML (${problem.code.toLowerCase().replaceAll('_', ' ')})`;
    throw new ConfigError(`${fileName}: line ${line}, column ${col}`, why);
  }
  // An alias to an anchor that is not (yet) defined would make toJS throw with the
  // anchor's name in its message; find it first and report its position instead.
  let dangling: number | undefined;
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return undefined;
      dangling = alias.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  if (dangling !== undefined) {
    const { line, col } = lineCounter.linePos(dangling);
    throw new ConfigError(
      `${fileName}: line ${line}, column ${col}`,
      YAML_REASONS['BAD_ALIAS'] ?? '',
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    throw new ConfigError(fileName, 'uses YAML aliases too heavily (an alias bomb?)');
  }
  const parsed = configSchema.safeParse(raw, { error: fallbackMessage });
  if (!parsed.success) throw issueToError(fileName, parsed.error.issues, raw);
  try {
    return normalise(parsed.data, resolve(fileName), env);
  } catch (err) {
    if (err instanceof Invalid)
      throw new ConfigError(`${fileName}: ${formatPath(err.path)}`, err.why);
    throw err;
  }
}

/** Reads and parses the configuration file at `file`. Throws ConfigError. */
export function loadConfig(file: string): BastionConfig {
  let text: string;
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES) {
      throw new ConfigError(file, `is larger than ${MAX_CONFIG_BYTES} bytes`);
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // Only the errno code: the system's message adds nothing a reader needs.
    const code = (err as NodeJS.ErrnoException).code;
    const why = typeof code === 'string' && /^E[A-Z]+$/.test(code) ? ` (${code})` : '';
    throw new ConfigError(file, `cannot be read${why}`);
  }
  return parseConfig(text, file);
}
