/**
 * The contract of a connector kind: one folder under src/connectors/ exports one plugin,
 * and src/connectors/registry.ts lists it. The plugin owns its configuration section
 * (`connectors.<kind>`, a zod schema; absent means `{}`), its operation (defined once, see
 * operation.ts) and a factory. The kind is also the connector's name in accords and routes.
 */
import type { z } from 'zod';
import type { Clock } from '../base/clock.js';
import type { ConfigContext } from '../base/fields.js';
import type { Logger } from '../base/logger.js';
import type { Plugin } from '../base/registry.js';
import type { Capability } from '../governance/capabilities.js';
import type { Connector } from './connector.js';
import type { OperationSpec } from './operation.js';

export interface ConnectorDeps {
  readonly clock: Clock;
  readonly logger: Logger;
}

interface PluginText extends Plugin {
  /** One line for help and docs: what the connector does, with which credential. */
  readonly summary: string;
  /** The operation it runs; the connector it creates carries the same. */
  readonly operation: OperationSpec;
  /**
   * Every capability one of its operations can require: an accord granting none of them
   * for this connector can never invoke it (`bastion doctor` says so). Absent: not said.
   */
  readonly capabilities?: readonly Capability[];
}

export interface ConnectorPluginSpec<Settings> extends PluginText {
  /** The schema of `connectors.<kind>`; it must accept `{}` (the section is optional). */
  settings(ctx: ConfigContext): z.ZodType<Settings>;
  create(settings: Settings, deps: ConnectorDeps): Connector;
  /** The only targets it can reach with these settings; absent: any target. */
  readonly servedTargets?: (settings: Settings) => readonly string[];
}

/** A registered connector kind, whatever its settings type. */
export interface ConnectorPlugin extends PluginText {
  settings(ctx: ConfigContext): z.ZodType;
  create(settings: unknown, deps: ConnectorDeps): Connector;
  readonly servedTargets?: (settings: unknown) => readonly string[];
}

/** Declares a connector kind; `create` only ever receives what its own `settings` parsed. */
export function defineConnectorPlugin<Settings>(
  spec: ConnectorPluginSpec<Settings>,
): ConnectorPlugin {
  const { servedTargets, ...rest } = spec;
  return {
    ...rest,
    create: (settings, deps) => spec.create(settings as Settings, deps),
    ...(servedTargets !== undefined && {
      servedTargets: (settings: unknown) => servedTargets(settings as Settings),
    }),
  };
}
