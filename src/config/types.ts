/** The configuration, normalised: what the server, the CLI and the tests read. */
import type { BackendPlugin } from '../backends/plugin.js';
import type { ConnectorPlugin } from '../connectors/plugin.js';
import { DEFAULT_FAILOVER } from '../credentials/circuit.js';
import type { Accord } from '../governance/accords.js';
import type { StoreSettings } from '../store/open.js';
import type { NotificationsConfig } from './notifications.js';
import type { MetricsConfig, TracingConfig } from './telemetry.js';
import type { AuditForwardConfig } from './audit-forward.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One configured backend, in the order resolution tries them. */
export interface BackendEntry {
  readonly kind: string;
  readonly plugin: BackendPlugin;
  /** What the plugin's schema parsed; handed to its `create`. */
  readonly settings: unknown;
  /** Where it is in the file (`backends[1]`), to name it in errors. */
  readonly where: string;
  /** Its circuit breaker: the entry's own `failover:` over the file's. */
  readonly failover: FailoverConfig;
}

/** A backend's circuit breaker: failed calls in a row that open it, and for how long. */
export interface FailoverConfig {
  readonly failures: number;
  readonly open_seconds: number;
}

/** One connector kind with its settings (every registered kind, configured or not). */
export interface ConnectorEntry {
  readonly kind: string;
  readonly plugin: ConnectorPlugin;
  readonly settings: unknown;
}

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
    /** Requests per principal and minute, after authentication. */
    rate_per_minute: number;
    /** Failed authentications per client address and minute, before the next is refused. */
    auth_failures_per_minute: number;
    /** Bytes kept per output stream of an invocation. */
    output_bytes: number;
    exec_timeout_seconds: number;
  };
  connectors: ConnectorEntry[];
  /** Tried in this order (the order of the file's `backends:` list). */
  backends: BackendEntry[];
  /** The top-level `failover:`: the circuit breaker of a backend that sets none of its own. */
  failover: FailoverConfig;
  /** `store:` or $BASTION_DATABASE_URL: SQLite in data_dir, or PostgreSQL (no password in the URL). */
  store: StoreSettings;
  /**
   * `audit.witness_file`, absolute: every signed audit checkpoint is also appended there.
   * Absent: no witness, and a rollback of both database and sink cannot be detected.
   */
  audit_witness_file?: string | undefined;
  /** `audit.forward`: SIEM collectors sent every audit record (best effort). */
  audit_forward?: readonly AuditForwardConfig[] | undefined;
  /**
   * Where the AC signing keys live: `files` in `<data_dir>/keys/` (one broker), or
   * `database`, wrapped under a key-encryption key (every replica shares them). Absent:
   * files on SQLite, database on PostgreSQL.
   */
  signing_keys?: 'files' | 'database' | undefined;
  /**
   * The key-encryption key for `database` keys (base64 of 32 bytes, mode 0600), absolute;
   * else `$BASTION_KEY_ENCRYPTION_KEY`. Never stored in the database.
   */
  key_encryption_key_file?: string | undefined;
  /** Webhook notification of requests awaiting approval; absent: none is sent. */
  notifications?: NotificationsConfig | undefined;
  /** Absent: the logger's own default applies. */
  log_level?: LogLevel | undefined;
  /** HTTPS: PEM certificate chain and private key files, absolute; absent, plain HTTP. */
  tls?: { cert_file: string; key_file: string } | undefined;
  /** Prometheus metrics; absent: METRICS_DEFAULTS (served at /metrics on the API's listener). */
  metrics?: MetricsConfig | undefined;
  /** OpenTelemetry traces over OTLP/HTTP; absent: none are exported. */
  tracing?: TracingConfig | undefined;
  accords: Accord[];
  accordsById: ReadonlyMap<string, Accord>;
  /** Things the operator should change, logged at start (a deprecated form, say). */
  warnings: string[];
}

export const CONFIG_DEFAULTS = {
  issuer: 'urn:bastion:broker',
  audience: 'urn:bastion:connectors',
  clock_skew_seconds: 30,
  // Room for the largest operation: stdin of 64 KiB (MAX_STDIN_BYTES), JSON-escaped.
  body_bytes: 131_072,
  rate_per_minute: 120,
  auth_failures_per_minute: 120,
  output_bytes: 1_048_576,
  exec_timeout_seconds: 30,
  failover: { failures: DEFAULT_FAILOVER.failures, open_seconds: DEFAULT_FAILOVER.openMs / 1000 },
} as const;
