/**
 * The Entra authority and its OpenID configuration: given at start (so no discovery
 * request is made), or learnt from the first discovery MSAL makes and reused by later
 * calls. Public metadata only; it names the token endpoint, the client assertions' audience.
 */
import { ConfigError } from '../../base/errors.js';
import { checkEndpoint } from '../oauth/config.js';

export class AuthorityMetadata {
  /** The authority URL as configured, checked to be https. */
  readonly authority: string;
  #metadata: string | undefined;

  /** Throws ConfigError when `metadata` is given but names no valid token endpoint. */
  constructor(authority: string, metadata: string | undefined) {
    if (metadata !== undefined) tokenEndpointOf(metadata, true);
    this.authority = authority;
    this.#metadata = metadata;
  }

  /** The OpenID configuration (JSON text), when given or discovered. */
  get metadata(): string | undefined {
    return this.#metadata;
  }

  /** The authority without trailing slashes. */
  get base(): string {
    return this.authority.replace(/\/+$/, '');
  }

  /** The token endpoint: from the metadata, else Entra's own at this authority. */
  tokenEndpoint(): string {
    const fromMetadata =
      this.#metadata === undefined ? undefined : tokenEndpointOf(this.#metadata, false);
    return fromMetadata ?? `${this.base}/oauth2/v2.0/token`;
  }

  /** Keeps what a GET of `url` returned when it was this authority's discovery document. */
  learn(url: string, body: Record<string, unknown>): void {
    if (!this.#isDiscovery(url)) return;
    const text = JSON.stringify(body);
    // Public metadata: later calls skip discovery.
    if (tokenEndpointOf(text, false) !== undefined) this.#metadata = text;
  }

  /** A GET of this authority's OpenID configuration, not yet known. */
  #isDiscovery(url: string): boolean {
    if (this.#metadata !== undefined) return false;
    const parsed = new URL(url);
    return (
      parsed.origin === new URL(this.authority).origin &&
      parsed.pathname.endsWith('/.well-known/openid-configuration')
    );
  }
}

/** The `token_endpoint` of OpenID configuration JSON; throws ConfigError when `strict`. */
function tokenEndpointOf(metadata: string, strict: boolean): string | undefined {
  try {
    const doc: unknown = JSON.parse(metadata);
    const endpoint = (doc as Record<string, unknown> | null)?.['token_endpoint'];
    if (typeof endpoint === 'string') return checkEndpoint('entra.authorityMetadata', endpoint);
  } catch (err) {
    if (strict && err instanceof ConfigError) throw err;
  }
  if (strict) throw new ConfigError('entra.authorityMetadata', 'must be OpenID configuration JSON');
  return undefined;
}
