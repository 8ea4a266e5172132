/**
 * The contract of a backend kind: one folder under src/backends/ exports one plugin, and
 * src/backends/registry.ts lists it. The plugin owns its configuration section (a zod
 * schema of one `backends:` entry, without `kind`), builds a backend from it, and may
 * hold resources the backend releases in its own `close()`.
 */
import type { z } from 'zod';
import type { Clock } from '../base/clock.js';
import type { ConfigContext } from '../base/fields.js';
import type { Logger } from '../base/logger.js';
import type { Plugin } from '../base/registry.js';
import type { AcSigner } from '../base/signer.js';
import type { CredentialBackend } from '../credentials/backend.js';

/** What the broker hands every backend it builds. */
export interface BackendDeps {
  /** The broker's current signing key: its identity towards issuers (never a target credential). */
  readonly signer: () => AcSigner;
  /** The broker's issuer: the `iss` of what it signs. */
  readonly issuer: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where secrets named by `*_env` keys are read from; process.env by default. */
  readonly env: NodeJS.ProcessEnv;
  /** The broker's data directory, for public material a backend publishes (a CA key). */
  readonly dataDir: string;
  /** The entry's place in the configuration (`backends[1]`), to name it in a ConfigError. */
  readonly where: string;
}

interface PluginText extends Plugin {
  /** One line for help and docs: what the kind issues, from where. */
  readonly summary: string;
  /**
   * Built into the broker and configured by nothing of its own: added after the listed
   * backends when the list does not name it.
   */
  readonly implicit?: boolean;
  /** Logged at start whenever the kind is configured (the dev backend says it is for development). */
  readonly startupWarning?: string;
}

/** What a backend folder declares: its settings schema and a factory typed by it. */
export interface BackendPluginSpec<Settings> extends PluginText {
  /** The schema of one `backends:` entry, without `kind`. */
  settings(ctx: ConfigContext): z.ZodType<Settings>;
  /** Builds the backend; may read files and the environment. Throws ConfigError when it cannot. */
  create(settings: Settings, deps: BackendDeps): CredentialBackend | Promise<CredentialBackend>;
}

/** A registered backend kind, whatever its settings type. */
export interface BackendPlugin extends PluginText {
  settings(ctx: ConfigContext): z.ZodType;
  create(settings: unknown, deps: BackendDeps): CredentialBackend | Promise<CredentialBackend>;
}

/** Declares a backend kind; `create` only ever receives what its own `settings` parsed. */
export function defineBackendPlugin<Settings>(spec: BackendPluginSpec<Settings>): BackendPlugin {
  return { ...spec, create: (settings, deps) => spec.create(settings as Settings, deps) };
}
