/**
 * The configuration file: YAML, validated with zod, normalised into BastionConfig. This
 * module owns the broker's own keys (listen, data_dir, limits, admins, …) and assembles the
 * rest: accords (accords.ts) and the sections backend and connector plugins own
 * (plugins.ts), each checked by its plugin's schema. Every failure is one ConfigError
 * naming the file and the key path, never a value (report.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../base/errors.js';
import { CONTROL, type ConfigContext, checked, duration, filePath, text } from '../base/fields.js';
import { backendRegistry } from '../backends/registry.js';
import { connectorRegistry } from '../connectors/registry.js';
import { canonicalTarget, targetKind } from '../governance/targets.js';
import { accordSchema, didList, toAccords } from './accords.js';
import { auditForwardSchema } from './audit-forward.js';
import { notificationsSchema } from './notifications.js';
import {
  failoverOf,
  failoverSchema,
  readBackends,
  readConnectors,
  type PluginRegistries,
} from './plugins.js';
import { readStore, storeSchema } from './store.js';
import { metricsSchema, tracingSchema } from './telemetry.js';
import { distinct, fallbackMessage, formatPath, Invalid, issueToError, parseAt } from './report.js';
import { CONFIG_DEFAULTS, LOG_LEVELS, type BastionConfig } from './types.js';
import { MAX_CONFIG_BYTES, readYaml } from './yaml.js';

export { CONFIG_DEFAULTS, LOG_LEVELS, type BastionConfig, type LogLevel } from './types.js';
export { MAX_CONFIG_BYTES } from './yaml.js';

const MAX_CLOCK_SKEW_SECONDS = 300;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const MAX_EXEC_TIMEOUT_SECONDS = 3600;
const MIN_BODY_BYTES = 1024;
const MAX_BODY_BYTES = 1_048_576;
const LISTEN_PATTERN = /^(\[[^\]]*\]|[^:[\]]+):(0|[1-9]\d{0,4})$/;

/** The plugin kinds this build knows; a deployment or a test may pass its own. */
export const DEFAULT_REGISTRIES: PluginRegistries = {
  backends: backendRegistry,
  connectors: connectorRegistry,
};

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
          auth_failures_per_minute: z
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
    // Read by normalise(), whose schema resolves paths against the file's directory.
    audit: z.unknown().optional(),
    // Where the AC signing keys live (types.ts); the KEK file's path is read by normalise().
    signing_keys: z.enum(['files', 'database'], { error: 'must be files or database' }).optional(),
    key_encryption_key_file: z.unknown().optional(),
    store: z.unknown().optional(),
    tls: z.unknown().optional(),
    // Owned by plugins: read by plugins.ts, each entry with its plugin's schema.
    connectors: z.unknown().optional(),
    backends: z.unknown().optional(),
    failover: failoverSchema.optional(),
    notifications: notificationsSchema.optional(),
    metrics: metricsSchema(listen).optional(),
    tracing: tracingSchema.optional(),
    accords: z.array(accordSchema, { error: 'must be a list of accords' }),
  },
  { error: 'the file must hold a YAML mapping' },
);

type RawConfig = z.output<typeof configSchema>;

/** `audit:`: where, besides the data directory, the audit trail is witnessed. */
const auditSection = (ctx: ConfigContext) =>
  z.strictObject(
    // Checkpoints only; on another disk or host mount, outside data_dir (checked at start).
    { witness_file: filePath(ctx).optional(), forward: auditForwardSchema(ctx) },
    { error: 'must be a mapping' },
  );

/** `tls:`: serve HTTPS with this certificate chain and key (PEM files, re-read on SIGHUP). */
const tlsSection = (ctx: ConfigContext) =>
  z.strictObject(
    { cert_file: filePath(ctx), key_file: filePath(ctx) },
    { error: 'must be a mapping with cert_file and key_file' },
  );

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

function normalise(
  raw: RawConfig,
  fileName: string,
  env: NodeJS.ProcessEnv,
  registries: PluginRegistries,
): BastionConfig {
  const file = resolve(fileName);
  const admins = raw.admins ?? [];
  distinct(admins, ['admins']);
  const { accords, accordsById } = toAccords(raw.accords);
  const warnings: string[] = [];
  const failover = failoverOf(raw.failover, CONFIG_DEFAULTS.failover);
  const reading = { fileName, ctx: { baseDir: dirname(file) }, registries, warnings, failover };
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
      auth_failures_per_minute:
        raw.limits?.auth_failures_per_minute ?? CONFIG_DEFAULTS.auth_failures_per_minute,
      output_bytes: raw.limits?.output_bytes ?? CONFIG_DEFAULTS.output_bytes,
      exec_timeout_seconds: raw.limits?.exec_timeout ?? CONFIG_DEFAULTS.exec_timeout_seconds,
    },
    connectors: readConnectors(raw.connectors, reading),
    backends: readBackends(raw.backends, reading),
    failover,
    store: readStore(
      raw.store === undefined
        ? undefined
        : parseAt(storeSchema(reading.ctx), raw.store, fileName, ['store']),
      env,
      warnings,
    ),
    accords,
    accordsById,
    warnings,
  };
  const publicUrlValue =
    raw.public_url ?? fromEnv(publicUrl, ENV_DEFAULTS.public_url.variable, env);
  if (publicUrlValue !== undefined) config.public_url = publicUrlValue;
  if (raw.log_level !== undefined) config.log_level = raw.log_level;
  if (raw.notifications !== undefined) config.notifications = raw.notifications;
  if (raw.metrics !== undefined) config.metrics = raw.metrics;
  if (raw.tracing !== undefined) config.tracing = raw.tracing;
  if (raw.audit !== undefined) {
    const audit = parseAt(auditSection(reading.ctx), raw.audit, fileName, ['audit']);
    if (audit.witness_file !== undefined) config.audit_witness_file = audit.witness_file;
    if (audit.forward !== undefined) config.audit_forward = audit.forward;
  }
  if (raw.signing_keys !== undefined) config.signing_keys = raw.signing_keys;
  if (raw.key_encryption_key_file !== undefined) {
    config.key_encryption_key_file = parseAt(
      filePath(reading.ctx),
      raw.key_encryption_key_file,
      fileName,
      ['key_encryption_key_file'],
    );
  }
  if (raw.tls !== undefined)
    config.tls = parseAt(tlsSection(reading.ctx), raw.tls, fileName, ['tls']);
  return config;
}

/** The parsed settings of connector `kind` (undefined for a kind not registered). */
export function connectorSettings(config: BastionConfig, kind: string): unknown {
  return config.connectors.find((entry) => entry.kind === kind)?.settings;
}

/**
 * Parses configuration text. `fileName` labels errors and anchors relative paths (it is
 * resolved against the current directory if relative). Throws ConfigError.
 */
export function parseConfig(
  text: string,
  fileName: string,
  env: NodeJS.ProcessEnv = process.env,
  registries: PluginRegistries = DEFAULT_REGISTRIES,
): BastionConfig {
  const raw = readYaml(text, fileName);
  const parsed = configSchema.safeParse(raw, { error: fallbackMessage });
  if (!parsed.success) throw issueToError(fileName, parsed.error.issues, raw);
  try {
    return normalise(parsed.data, fileName, env, registries);
  } catch (err) {
    if (err instanceof Invalid)
      throw new ConfigError(`${fileName}: ${formatPath(err.path)}`, err.why);
    throw err;
  }
}

/** Reads and parses the configuration file at `file`. Throws ConfigError. */
export function loadConfig(
  file: string,
  registries: PluginRegistries = DEFAULT_REGISTRIES,
): BastionConfig {
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
  return parseConfig(text, file, process.env, registries);
}
