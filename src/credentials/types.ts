/**
 * Credential types (seed: Credential and its four subclasses) as a discriminated union on
 * `type`. Every byte that would let someone act is a `Secret`; the other fields are
 * metadata that may be logged and audited.
 */
import { Secret } from './secret.js';

export const CREDENTIAL_TYPES = [
  'aws',
  'bascule_ac',
  'kerberos',
  'oauth',
  'ssh_cert',
  'x509_svid',
] as const;
export type CredentialType = (typeof CREDENTIAL_TYPES)[number];

/** RFC 9449 sender-constrained OAuth tokens: what an accord allows (see AcContext). */
export const SENDER_CONSTRAINED = ['required', 'preferred', 'off'] as const;
export type SenderConstrained = (typeof SENDER_CONSTRAINED)[number];

export function isCredentialType(value: unknown): value is CredentialType {
  return typeof value === 'string' && (CREDENTIAL_TYPES as readonly string[]).includes(value);
}

/**
 * The authorization context handed to backends: what the AC decided. Keys are snake_case
 * because this is the serialized form carried inside the signed AC.
 */
export interface AcContext {
  readonly ac_id: string;
  readonly principal_did: string;
  readonly capability_mask: number;
  readonly capabilities: readonly string[];
  readonly accord_template: string;
  readonly connector: string;
  readonly target: string;
  /** AC expiry, seconds since the epoch (as the JWT's `exp`). */
  readonly expires_at: number;
  /** SSH logins the accord maps this principal to (ssh_cert only). */
  readonly ssh_principals?: readonly string[];
  /** The Kerberos user principal the accord maps this principal to (kerberos only). */
  readonly kerberos_principal?: string;
  /** The accord's per-command policy, for shell-like connectors. */
  readonly commands?: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  /** The accord's path policy, for the HTTP connector. */
  readonly paths?: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  /**
   * The accord's `oauth.sender_constrained`: whether an OAuth token must be DPoP-bound
   * (`required`), may fall back to a bearer token (`preferred`), or is a bearer token (`off`).
   */
  readonly sender_constrained?: SenderConstrained;
  /**
   * Delegation (RFC 8693 `act`): the agent acting for `principal_did`, outermost first;
   * nested `act` is the chain before it.
   */
  readonly act?: ActorClaim;
}

export interface ActorClaim {
  readonly sub: string;
  readonly act?: ActorClaim;
}

interface CredentialBase {
  readonly target: string;
  /** End of the window in which the broker may use the credential. */
  readonly expiresAt: Date;
  readonly notBefore?: Date;
  /** Human-readable description of what the credential permits. */
  readonly scopedTo: string;
  /** Id of the backend that issued it; revoke goes back there. */
  readonly issuedBy: string;
  /** Lease id, certificate serial or token jti, when the issuer has one. */
  readonly id?: string;
  /** Set by the resolver when it clamped a lifetime the issuer could not shorten. */
  readonly mustRevoke?: boolean;
  /** The issuer's own expiry, when the resolver clamped `expiresAt` below it. */
  readonly issuerExpiresAt?: Date;
}

export interface BasculeAcCredential extends CredentialBase {
  readonly type: 'bascule_ac';
  readonly authorizationContext: AcContext;
  /** The signed AC, when the issuing backend holds it. */
  readonly token?: Secret;
}

export interface KerberosCredential extends CredentialBase {
  readonly type: 'kerberos';
  /** Ticket bytes (a ccache or KRB-CRED blob). */
  readonly ticket: Secret;
  readonly clientPrincipal?: string;
  readonly servicePrincipal?: string;
}

export interface OAuthCredential extends CredentialBase {
  readonly type: 'oauth';
  readonly accessToken: Secret;
  /** `Bearer`, or `DPoP` for a sender-constrained token (RFC 9449) with `dpop` set. */
  readonly tokenType: string;
  readonly scope?: readonly string[];
  /** The per-invocation key a DPoP token is bound to; zero-filled with the token. */
  readonly dpop?: DpopKey;
}

/** An ephemeral Ed25519 DPoP key: the 32-byte seed in a Secret, its public half and `jkt`. */
export interface DpopKey {
  readonly seed: Secret;
  /** The public key, base64url (the JWK's `x`). */
  readonly x: string;
  /** RFC 7638 thumbprint of the public JWK: the token's `cnf.jkt`. */
  readonly jkt: string;
}

export interface SshCertCredential extends CredentialBase {
  readonly type: 'ssh_cert';
  /** OpenSSH certificate text (`ssh-ed25519-cert-v01@openssh.com AAAA… id`); public. */
  readonly certificate: string;
  /** The ephemeral private key, unencrypted openssh-key-v1 PEM. */
  readonly privateKey: Secret;
  readonly principals: readonly string[];
}

/** Temporary AWS credentials (STS): requests to the target are signed with SigV4. */
export interface AwsCredential extends CredentialBase {
  readonly type: 'aws';
  /** Names the key (like a user name); not enough to act without the secret key. */
  readonly accessKeyId: string;
  readonly secretAccessKey: Secret;
  readonly sessionToken: Secret;
  /** The assumed role session's ARN, for the audit. */
  readonly assumedRoleArn?: string;
}

/** An X.509-SVID (SPIFFE): a client certificate for mutual TLS to the target. */
export interface X509SvidCredential extends CredentialBase {
  readonly type: 'x509_svid';
  /** The SPIFFE ID the certificate names. */
  readonly spiffeId: string;
  /** The certificate chain, leaf first, PEM (public). */
  readonly certificateChain: string;
  /** The certificate's private key, PKCS#8 PEM. */
  readonly privateKey: Secret;
  /** CA certificates (PEM) that verify the target's certificate, when the issuer gives them. */
  readonly bundle?: string;
}

export type Credential =
  | AwsCredential
  | BasculeAcCredential
  | KerberosCredential
  | OAuthCredential
  | SshCertCredential
  | X509SvidCredential;

export type CredentialOf<T extends CredentialType> = Extract<Credential, { type: T }>;

/** The Secret fields of a credential, for dispose and for structural checks. */
export function secretsOf(credential: Credential): (Secret | undefined)[] {
  switch (credential.type) {
    case 'aws':
      return [credential.secretAccessKey, credential.sessionToken];
    case 'x509_svid':
      return [credential.privateKey];
    case 'bascule_ac':
      return [credential.token];
    case 'kerberos':
      return [credential.ticket];
    case 'oauth':
      return [credential.accessToken, credential.dpop?.seed];
    case 'ssh_cert':
      return [credential.privateKey];
  }
}

/**
 * Zero-fills every Secret the credential holds. Idempotent; never throws. Walks the values
 * rather than trusting `type`, so a malformed credential from a faulty backend is wiped too.
 */
export function disposeCredential(credential: unknown): void {
  if (typeof credential !== 'object' || credential === null) return;
  for (const value of Object.values(credential)) {
    if (value instanceof Secret) value.dispose();
    // The DPoP key is one level down (OAuthCredential.dpop.seed).
    else if (typeof value === 'object' && value !== null) {
      const seed: unknown = (value as { seed?: unknown }).seed;
      if (seed instanceof Secret) seed.dispose();
    }
  }
}
