/**
 * The sections plugins own: `backends:`, an ordered list whose entries each name a kind,
 * and `connectors:`, a mapping from connector kind to its settings. Each entry is checked
 * by its own plugin's schema; errors name the entry's place in the file.
 *
 * The map form of `backends:` (`{oauth_exchange: [...], entra: [...], dev: true}`, before
 * the list) is still read, in its old fixed order and with the dev backend on unless
 * `dev: false`, and a deprecation warning says how to write it as a list.
 *
 * `failover:` (a backend's circuit breaker) is read here too: at the top of the file, the
 * default of every backend; in an entry, beside `kind`, that backend's own.
 */
import { z } from 'zod';
import { type ConfigContext, duration } from '../base/fields.js';
import type { Registry } from '../base/registry.js';
import type { BackendPlugin } from '../backends/plugin.js';
import type { ConnectorPlugin } from '../connectors/plugin.js';
import { MAX_FAILOVER_FAILURES, MAX_FAILOVER_OPEN_MS } from '../credentials/circuit.js';
import { Invalid, formatPath, parseAt, type Path } from './report.js';
import type { BackendEntry, ConnectorEntry, FailoverConfig } from './types.js';

export interface PluginRegistries {
  readonly backends: Registry<BackendPlugin>;
  readonly connectors: Registry<ConnectorPlugin>;
}

interface Reading {
  readonly fileName: string;
  readonly ctx: ConfigContext;
  readonly registries: PluginRegistries;
  readonly warnings: string[];
  /** The file's top-level `failover:`, defaults filled in: what an entry's own overrides. */
  readonly failover: FailoverConfig;
}

/** `failover:`: failed calls in a row that open a backend's circuit, and for how long. */
export const failoverSchema = z.strictObject(
  {
    failures: z
      .int({ error: 'must be a whole number' })
      .min(1, { error: 'must be at least 1' })
      .max(MAX_FAILOVER_FAILURES, { error: `must be at most ${MAX_FAILOVER_FAILURES}` })
      .optional(),
    open: duration(MAX_FAILOVER_OPEN_MS / 1000).optional(),
  },
  { error: 'must be a mapping' },
);

/** `failover` as written (or absent) over `base`, key by key. */
export function failoverOf(
  written: z.output<typeof failoverSchema> | undefined,
  base: FailoverConfig,
): FailoverConfig {
  return {
    failures: written?.failures ?? base.failures,
    open_seconds: written?.open ?? base.open_seconds,
  };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function backendEntry(
  kind: string,
  raw: Record<string, unknown>,
  at: Path,
  reading: Reading,
): BackendEntry {
  const plugin = reading.registries.backends.get(kind);
  if (plugin === undefined) {
    throw new Invalid(
      [...at, 'kind'],
      `must be one of ${reading.registries.backends.kinds.join(', ')}`,
    );
  }
  // `failover` belongs to the resolver, not to the plugin: taken out before its schema.
  const { failover: ownFailover, ...rest } = raw;
  const settings = parseAt(plugin.settings(reading.ctx), rest, reading.fileName, at);
  const failover =
    ownFailover === undefined
      ? reading.failover
      : failoverOf(
          parseAt(failoverSchema, ownFailover, reading.fileName, [...at, 'failover']),
          reading.failover,
        );
  if (plugin.startupWarning !== undefined) {
    reading.warnings.push(`${formatPath(at)} (${kind}): ${plugin.startupWarning}`);
  }
  return { kind, plugin, settings, failover, where: formatPath(at) };
}

function fromList(raw: unknown[], reading: Reading): BackendEntry[] {
  return raw.map((item, index) => {
    const at = ['backends', index];
    if (!isMapping(item)) throw new Invalid(at, 'must be a mapping with a kind');
    const { kind, ...rest } = item;
    if (kind === undefined) throw new Invalid([...at, 'kind'], 'is required');
    if (typeof kind !== 'string') throw new Invalid([...at, 'kind'], 'must be a string');
    return backendEntry(kind, rest, at, reading);
  });
}

const LEGACY_KINDS = ['oauth_exchange', 'entra'] as const;

const legacyMap = z.strictObject(
  {
    oauth_exchange: z.array(z.unknown(), { error: 'must be a list' }).optional(),
    entra: z.array(z.unknown(), { error: 'must be a list' }).optional(),
    dev: z.boolean({ error: 'must be true or false' }).optional(),
  },
  { error: 'must be a list of backends' },
);

function fromLegacyMap(raw: Record<string, unknown>, reading: Reading): BackendEntry[] {
  const map = parseAt(legacyMap, raw, reading.fileName, ['backends']);
  const entries: BackendEntry[] = [];
  for (const kind of LEGACY_KINDS) {
    (map[kind] ?? []).forEach((item, index) => {
      const at = ['backends', kind, index];
      if (!isMapping(item)) throw new Invalid(at, 'must be a mapping');
      entries.push(backendEntry(kind, item, at, reading));
    });
  }
  if (map.dev !== false) entries.push(backendEntry('dev', {}, ['backends', 'dev'], reading));
  reading.warnings.unshift(
    `backends: the mapping form (oauth_exchange:, entra:, dev:) is deprecated and will be removed; write an ordered list instead, one entry per backend in the order to try them (- kind: oauth_exchange …). This file reads as: ${entries.map((e) => e.kind).join(', ') || 'no backends'}`,
  );
  return entries;
}

/** The configured backends in resolution order, implicit kinds appended when not listed. */
export function readBackends(raw: unknown, reading: Reading): BackendEntry[] {
  let entries: BackendEntry[];
  if (raw === undefined) entries = [];
  else if (Array.isArray(raw)) entries = fromList(raw, reading);
  else if (isMapping(raw)) entries = fromLegacyMap(raw, reading);
  else throw new Invalid(['backends'], 'must be a list of backends (- kind: …)');
  for (const plugin of reading.registries.backends.list()) {
    if (plugin.implicit === true && !entries.some((e) => e.kind === plugin.kind)) {
      entries.push(backendEntry(plugin.kind, {}, ['backends', plugin.kind], reading));
    }
  }
  return entries;
}

/** Every registered connector kind with its settings; an unknown kind is an error. */
export function readConnectors(raw: unknown, reading: Reading): ConnectorEntry[] {
  if (raw !== undefined && !isMapping(raw)) throw new Invalid(['connectors'], 'must be a mapping');
  const sections = raw ?? {};
  for (const key of Object.keys(sections)) {
    if (reading.registries.connectors.get(key) === undefined) {
      throw new Invalid(['connectors', key], 'is not a known key');
    }
  }
  return reading.registries.connectors.list().map((plugin) => {
    const at = ['connectors', plugin.kind];
    const section = Object.hasOwn(sections, plugin.kind) ? sections[plugin.kind] : {};
    const settings = parseAt(plugin.settings(reading.ctx), section, reading.fileName, at);
    return { kind: plugin.kind, plugin, settings };
  });
}
