/** Bastion's public API. */
export { Secret, SecretDisposedError, REDACTED } from './credentials/secret.js';
export {
  CREDENTIAL_TYPES,
  disposeCredential,
  isCredentialType,
  type AcContext,
  type BasculeAcCredential,
  type Credential,
  type CredentialOf,
  type CredentialType,
  type KerberosCredential,
  type OAuthCredential,
  type SshCertCredential,
} from './credentials/types.js';
export type { CredentialBackend } from './credentials/backend.js';
export {
  CredentialResolver,
  DEFAULT_MAX_TTL_MS,
  DEFAULT_MIN_WINDOW_MS,
  DEFAULT_SKEW_MS,
  MAX_TTL_CEILING_MS,
  ScopeMismatchError,
  UnsupportedCredentialTypeError,
  type RegisterOptions,
  type ResolveOptions,
  type ResolverOptions,
} from './credentials/resolver.js';
export { DEFAULT_FAILOVER, type FailoverSettings } from './credentials/circuit.js';
export type { BackendHealth, CircuitStateName, LatencyView } from './credentials/health.js';
export {
  BackendReasons,
  CredentialResolutionError,
  NoBackendAvailable,
  RejectReasons,
  type BackendAttempt,
  type BackendReason,
} from './credentials/errors.js';
export { credentialFingerprint, type CredentialFingerprint } from './credentials/fingerprint.js';
export { parseEd25519Certificate, type ParsedCertificate } from './ssh/certificate.js';
export {
  DevBackend,
  type DevBackendOptions,
  type JsonWebKeySet,
} from './backends/dev/dev-backend.js';
export {
  AcExpiredError,
  BastionError,
  ConfigError,
  InternalError,
  InvalidArgumentError,
  isKnownErrorCode,
  toErrorResponse,
  type ErrorBody,
  type ErrorCode,
} from './base/errors.js';
export { ERROR_CATALOG, ERROR_CODES, type ErrorSpec } from './base/error-catalog.js';
export { ManualClock, systemClock, type Clock } from './base/clock.js';
export { createLogger, silentLogger, type Logger } from './base/logger.js';
export {
  OAuthExchangeBackend,
  type OAuthExchangeBackendOptions,
} from './backends/oauth-exchange/oauth-exchange-backend.js';
export { EntraBackend, type EntraBackendOptions } from './backends/entra/entra-backend.js';
export { VaultBackend, type VaultBackendOptions } from './backends/vault/vault-backend.js';
export { AwsStsBackend, type AwsStsBackendOptions } from './backends/aws-sts/aws-sts-backend.js';
export { BasculeBackend, type BasculeBackendOptions } from './backends/bascule/bascule-backend.js';
export { BastionClient, BrokerError, type ClientOptions } from './client/client.js';
export { startServer, type RunningServer, type ServerOptions } from './server/app.js';
export { startBascule, type RunningBascule } from './bascule/runtime.js';
export type { BasculeOptions } from './bascule/options.js';
export { createBridgeServer } from './mcp/bridge.js';
export { verifyAc, signAc, unsafeDecodeAc, type AcClaims } from './governance/ac.js';
export { verifyAudit } from './audit/verify.js';
export type { AuditReport } from './audit/report.js';

// Growing Bastion: plugin kinds, their registries, and what a plugin implements.
export { Registry, type Plugin } from './base/registry.js';
export { type ConfigContext } from './base/fields.js';
export {
  defineBackendPlugin,
  type BackendDeps,
  type BackendPlugin,
  type BackendPluginSpec,
} from './backends/plugin.js';
export { backendRegistry } from './backends/registry.js';
export type { Connector, ConnectorResult, RunContext } from './connectors/connector.js';
export { jsonSchemaOf, type OperationSpec } from './connectors/operation.js';
export {
  defineConnectorPlugin,
  type ConnectorDeps,
  type ConnectorPlugin,
  type ConnectorPluginSpec,
} from './connectors/plugin.js';
export { connectorRegistry } from './connectors/registry.js';
export { InvocationDeniedError } from './governance/denials.js';
export {
  DEFAULT_REGISTRIES,
  loadConfig,
  parseConfig,
  type BastionConfig,
} from './config/config.js';
export type { PluginRegistries } from './config/plugins.js';
export {
  generatePrincipalKey,
  readPrincipalKey,
  writePrincipalKey,
  type PrincipalKey,
} from './governance/did-key.js';
