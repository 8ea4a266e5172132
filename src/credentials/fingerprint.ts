/**
 * Credential fingerprints: what audit records and output show instead of a credential.
 * For an SSH certificate, OpenSSH's SHA256 fingerprint of the certified public key plus
 * its serial (both public); for bearer material, a SHA-256 of the secret bytes, which
 * correlates uses without revealing the high-entropy secret. A Kerberos ticket's record also
 * names its client and service principals (public metadata, so the audit says whose ticket
 * to what); its fingerprint is the SHA-256 of the KRB-CRED, which holds a random session key
 * (AES, 128 or 256 bits) and so reveals nothing either. (The Ticket's DER alone would do as
 * well, but decoding KRB-CRED belongs to the kerberos layer, above this one.)
 */
import { createHash, X509Certificate } from 'node:crypto';
import { parseEd25519Certificate } from '../ssh/certificate.js';
import { ed25519PublicBlob, sshFingerprint } from '../ssh/ed25519.js';
import type { Secret } from './secret.js';
import type { Credential } from './types.js';

export interface CredentialFingerprint {
  readonly type: Credential['type'];
  readonly issuedBy: string;
  readonly id?: string;
  readonly fingerprint: string;
  /** Kerberos: the client principal (`alice@EXAMPLE.TEST`). */
  readonly principal?: string;
  /** Kerberos: the service principal the ticket is for (`WSMAN/host@EXAMPLE.TEST`). */
  readonly service?: string;
  /**
   * OAuth: whether the token is sender-constrained (RFC 9449 DPoP) or a bearer token. (Not
   * `token_…`: the store refuses detail keys named like a secret, store/secret-guard.ts.)
   */
  readonly sender_constraint?: 'dpop' | 'bearer';
}

export function credentialFingerprint(credential: Credential): CredentialFingerprint {
  const base = {
    type: credential.type,
    issuedBy: credential.issuedBy,
    ...(credential.id !== undefined ? { id: credential.id } : {}),
  };
  return {
    ...base,
    fingerprint: fingerprintOf(credential),
    ...principalsOf(credential),
    ...(credential.type === 'oauth'
      ? {
          sender_constraint:
            credential.dpop !== undefined ? ('dpop' as const) : ('bearer' as const),
        }
      : {}),
  };
}

function principalsOf(credential: Credential): { principal?: string; service?: string } {
  if (credential.type !== 'kerberos') return {};
  const { clientPrincipal, servicePrincipal } = credential;
  return {
    ...(clientPrincipal !== undefined ? { principal: clientPrincipal } : {}),
    ...(servicePrincipal !== undefined ? { service: servicePrincipal } : {}),
  };
}

function fingerprintOf(credential: Credential): string {
  switch (credential.type) {
    case 'ssh_cert':
      return sshCertFingerprint(credential.certificate);
    case 'oauth':
      return secretDigest(credential.accessToken);
    case 'kerberos':
      return secretDigest(credential.ticket);
    case 'aws':
      return secretDigest(credential.secretAccessKey);
    case 'x509_svid':
      return x509Fingerprint(credential.certificateChain);
    case 'bascule_ac':
      return credential.token !== undefined
        ? secretDigest(credential.token)
        : 'ac:' + credential.authorizationContext.ac_id;
  }
}

function sshCertFingerprint(certificate: string): string {
  try {
    return sshFingerprint(ed25519PublicBlob(parseEd25519Certificate(certificate).publicKey32));
  } catch {
    return 'SHA256:unparsable-certificate';
  }
}

/** The leaf certificate's SHA-256 (public), as `openssl x509 -fingerprint -sha256` prints it. */
function x509Fingerprint(chain: string): string {
  try {
    return 'x509:' + new X509Certificate(chain).fingerprint256;
  } catch {
    return 'x509:unparsable-certificate';
  }
}

function secretDigest(secret: Secret): string {
  if (secret.disposed) return 'sha256:disposed';
  return 'sha256:' + secret.use((bytes) => createHash('sha256').update(bytes).digest('base64url'));
}
