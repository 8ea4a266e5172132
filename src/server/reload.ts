/**
 * A reloaded configuration (SIGHUP): the accords and admins take effect at once, for new
 * requests and for every live AC's next invocation (the session re-checks each AC against
 * its accord as it is now). What cannot change under a running broker — where it listens,
 * its data, its backends and connectors, its limits and identity — is left as it was, and
 * the reply names each such section that differs, so the operator knows a restart is due.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../base/logger.js';
import type { BastionConfig } from '../config/config.js';
import type { Policy } from '../governance/policy.js';
import type { StoreSettings } from '../store/open.js';

export interface ReloadResult {
  readonly accords: number;
  /** Sections that changed in the file but apply only after a restart. */
  readonly needsRestart: readonly string[];
}

const RESTART_SECTIONS = [
  'listen',
  'data_dir',
  'public_url',
  'issuer',
  'audience',
  'clock_skew_seconds',
  'limits',
  'log_level',
  'failover',
  'store',
  'tls',
  'notifications',
  'metrics',
  'tracing',
  'audit_forward',
] as const;

/** The plugin sections, compared by what was configured rather than the plugin objects. */
function pluginSections(config: BastionConfig): unknown {
  return {
    backends: config.backends.map((b) => ({
      kind: b.kind,
      settings: b.settings,
      failover: b.failover,
    })),
    connectors: config.connectors.map((c) => ({ kind: c.kind, settings: c.settings })),
  };
}

/** A Secret shows no bytes to isDeepStrictEqual: passwords are compared on their own. */
function passwordChanged(a: StoreSettings, b: StoreSettings): boolean {
  const [pa, pb] = [a, b].map((s) => (s.kind === 'postgres' ? s.password : undefined));
  if (pa === undefined || pb === undefined) return pa !== pb;
  return pa.disposed || pb.disposed || !pa.equals(pb);
}

export function applyReload(
  log: Logger,
  running: BastionConfig,
  next: BastionConfig,
  policy: Policy,
): ReloadResult {
  policy.replace(next.accordsById, next.admins);
  const needsRestart: string[] = RESTART_SECTIONS.filter(
    (key) => !isDeepStrictEqual(running[key], next[key]),
  );
  if (!needsRestart.includes('store') && passwordChanged(running.store, next.store)) {
    needsRestart.push('store');
  }
  if (!isDeepStrictEqual(pluginSections(running), pluginSections(next))) {
    needsRestart.push('backends or connectors');
  }
  // The store stays the running one: a password the reloaded file gave is not needed.
  if (next.store.kind === 'postgres' && next.store !== running.store)
    next.store.password?.dispose();
  for (const warning of next.warnings) log.warn({ config: next.file }, warning);
  log.info(
    { accords: next.accords.length, admins: next.admins.length },
    'configuration reloaded: accords and admins in force',
  );
  if (needsRestart.length > 0) {
    log.warn({ sections: needsRestart }, 'changed sections apply only after a restart');
  }
  return { accords: next.accords.length, needsRestart };
}
