/**
 * `bastion doctor`'s checks, in one run: the configuration's accords and command
 * patterns, the backends and clocks (network, unless offline), file modes, the audit sink
 * and trail, and the store. Each check returns results; nothing here prints, and nothing
 * here writes (a store that needs migrating is not opened).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AUDIT_SINK_FILE } from '../audit/sink.js';
import { BastionError } from '../base/errors.js';
import { type BastionConfig, loadConfig } from '../config/config.js';
import { readStore } from '../config/store.js';
import { readYaml } from '../config/yaml.js';
import { lintAccords } from './accords.js';
import { checkDisk, checkSinkFiles, checkTrail } from './audit-health.js';
import { CHECK_GROUPS, type CheckResult, result } from './check.js';
import { lintCommandPatterns } from './command-patterns.js';
import { checkFileModes } from './file-modes.js';
import { checkPeers } from './peers.js';
import type { ProbeDeps } from './probes.js';
import type { DbStatus } from '../store/db-status.js';
import type { StoreSettings } from '../store/open.js';
import { checkStore } from './store-health.js';

export interface DoctorOptions extends Partial<ProbeDeps> {
  readonly configFile?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly offline?: boolean | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
}

/** Network checks wait this long per peer by default. */
export const DEFAULT_PROBE_TIMEOUT_MS = 5000;

/** `store.password_file` as written (the configuration keeps only the password, in a Secret). */
function passwordFileOf(config: BastionConfig): string | undefined {
  try {
    const raw = readYaml(readFileSync(config.file, 'utf8'), config.file) as {
      store?: { password_file?: unknown };
    };
    const file = raw.store?.password_file;
    return typeof file === 'string' ? resolve(config.file, '..', file) : undefined;
  } catch {
    return undefined; // loadConfig just read it: a reader racing an edit sees it at the next run
  }
}

function loaded(file: string): { config?: BastionConfig; results: CheckResult[] } {
  try {
    const config = loadConfig(file);
    return {
      config,
      results: [result('config', 'load', 'ok', `configuration ${config.file}: loads`)],
    };
  } catch (err) {
    // A ConfigError names the file and key path and says why in fixed words.
    const why = err instanceof BastionError ? err.message : 'cannot be loaded';
    return {
      results: [result('config', 'load', 'fail', `configuration ${resolve(file)}: ${why}`)],
    };
  }
}

/** The trail, verified when the store can be opened as it is; a broker never started has none. */
function trailCheck(
  status: DbStatus | undefined,
  settings: StoreSettings,
  dataDir: string,
  config: BastionConfig | undefined,
  env: NodeJS.ProcessEnv,
): Promise<CheckResult> {
  if (status === undefined) {
    const why = 'trail: not verified (the store is unreachable or behind)';
    return Promise.resolve(result('audit', 'trail', 'skipped', why));
  }
  // Nothing in the database and no sink to compare with: nothing written yet to verify.
  if (status.audit_head === null && !existsSync(join(dataDir, AUDIT_SINK_FILE))) {
    return Promise.resolve(result('audit', 'trail', 'ok', 'trail: empty (nothing audited yet)'));
  }
  return checkTrail(settings, dataDir, config, env);
}

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const env = options.env ?? process.env;
  const offline = options.offline === true;
  const { config, results }: { config?: BastionConfig | undefined; results: CheckResult[] } =
    options.configFile !== undefined ? loaded(options.configFile) : { results: [] };
  if (options.configFile !== undefined && config === undefined) return results;
  const dataDir = resolve(options.dataDir ?? config?.data_dir ?? '.');
  if (config !== undefined) {
    results.push(...lintAccords(config), ...lintCommandPatterns(config));
    results.push(
      ...(await checkPeers(config, {
        offline,
        timeoutMs: options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS,
        lookup: options.lookup,
        connect: options.connect,
        now: options.now,
      })),
    );
  } else {
    results.push(result('config', 'load', 'skipped', 'configuration: not checked (no --config)'));
  }
  const passwordFile = config !== undefined ? passwordFileOf(config) : undefined;
  results.push(...checkFileModes({ dataDir, config, passwordFile }));
  const settings = config?.store ?? readStore(undefined, env, []);
  const store = await checkStore(settings, dataDir);
  results.push(...checkSinkFiles(dataDir, config, settings.kind === 'postgres'));
  results.push(checkDisk(dataDir));
  results.push(await trailCheck(store.status, settings, dataDir, config, env));
  results.push(...store.results);
  // Grouped as the output shows them; within a group, in the order checked.
  return CHECK_GROUPS.flatMap((group) => results.filter((r) => r.group === group));
}
