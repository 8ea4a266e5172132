/**
 * Building the configured backends and connectors: one loop over the configuration's
 * plugin entries each, nothing here names a kind. Extra ready-made instances (tests, a
 * deployment's own) come first for backends and beside the kinds for connectors.
 */
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { AcSigner } from '../base/signer.js';
import { DevBackend } from '../backends/dev/dev-backend.js';
import type { BastionConfig } from '../config/config.js';
import type { Connector } from '../connectors/connector.js';
import type { CredentialBackend } from '../credentials/backend.js';
import type { FailoverSettings } from '../credentials/circuit.js';
import type { CredentialResolver } from '../credentials/resolver.js';

export interface Closable {
  close?(): Promise<void>;
}

/** Closes each in turn, logging (never throwing) a failure: shutdown must finish. */
export async function closeAll(items: readonly Closable[], logger: Logger): Promise<void> {
  for (const item of items) {
    try {
      await item.close?.();
    } catch (err) {
      logger.warn({ err }, 'a backend or connector failed to close');
    }
  }
}

/** Registers `extra`, then every configured backend in the file's order; returns the dev one. */
export async function registerBackends(
  resolver: CredentialResolver,
  config: BastionConfig,
  deps: {
    signer: () => AcSigner;
    clock: Clock;
    logger: Logger;
    env: NodeJS.ProcessEnv;
    extra: readonly CredentialBackend[];
    owned: Closable[];
  },
): Promise<DevBackend | undefined> {
  for (const backend of deps.extra) resolver.register(backend);
  let dev: DevBackend | undefined;
  for (const entry of config.backends) {
    const backend = await entry.plugin.create(entry.settings, {
      signer: deps.signer,
      issuer: config.issuer,
      clock: deps.clock,
      logger: deps.logger,
      env: deps.env,
      dataDir: config.data_dir,
      where: entry.where,
    });
    deps.owned.push(backend);
    resolver.register(backend, { failover: failoverSettings(entry.failover) });
    if (dev === undefined && backend instanceof DevBackend) dev = backend;
  }
  if (resolver.backendIds.length === 0) {
    deps.logger.warn({}, 'no credential backends are configured: every invocation will fail');
  }
  return dev;
}

/** The configuration's `failover:` (seconds) as the resolver takes it (ms). */
export function failoverSettings(failover: BastionConfig['failover']): FailoverSettings {
  return { failures: failover.failures, openMs: failover.open_seconds * 1000 };
}

/** Every registered connector kind, then `extra`; a name taken twice stops the start. */
export function buildConnectors(
  config: BastionConfig,
  deps: { clock: Clock; logger: Logger; extra: readonly Connector[]; owned: Closable[] },
): Map<string, Connector> {
  const connectors = new Map<string, Connector>();
  const built = config.connectors.map((e) =>
    e.plugin.create(e.settings, { clock: deps.clock, logger: deps.logger }),
  );
  deps.owned.push(...built);
  for (const connector of [...built, ...deps.extra]) {
    if (connectors.has(connector.name)) {
      throw new TypeError(`connector ${connector.name} is defined twice`);
    }
    connectors.set(connector.name, connector);
  }
  return connectors;
}
