/**
 * `ssh_cert` from Vault's SSH secrets engine: a fresh Ed25519 key per invocation, its
 * public half signed by `POST /v1/<mount>/sign/<role>` for exactly the AC's SSH logins
 * (`valid_principals`), as a user certificate (`cert_type: user`) whose key id names the
 * AC (the role must allow user key ids), for at most the usable window (`ttl`), bound to
 * the invocation: its forced command and source addresses as `critical_options`, and no
 * extension (`extensions` empty: the role's `default_extensions` must be empty too, since
 * Vault gives those when none is asked for). What Vault returns is checked before use: a
 * user certificate of our key, for exactly those principals, with that key id and those
 * options, valid now and not beyond the window asked for. The private key never leaves
 * the broker. https://developer.hashicorp.com/vault/api-docs/secret/ssh#sign-ssh-key
 */
import {
  certificateHonours,
  type CredentialBinding,
  type SshCertificateBinding,
  sshCertificateBinding,
} from '../../credentials/binding.js';
import { BackendReasons, CredentialResolutionError } from '../../credentials/errors.js';
import { Secret } from '../../credentials/secret.js';
import type { AcContext, SshCertCredential } from '../../credentials/types.js';
import {
  parseEd25519Certificate,
  SSH_CERT_TYPE_USER,
  SSH_LOGIN_PATTERN,
} from '../../ssh/certificate.js';
import { ed25519PublicKeyLine } from '../../ssh/ed25519.js';
import { type EphemeralKey, ephemeralEd25519Key } from '../../ssh/ephemeral-key.js';
import type { JsonFields } from './json-body.js';

/** The longest certificate line read from a reply. */
const MAX_CERTIFICATE_CHARS = 16 * 1024;

export interface SshSigning {
  readonly mount: string;
  readonly role: string;
  /** The longest validity asked for; the AC's own expiry may shorten it. */
  readonly ttlSeconds: number;
  /** How far Vault's clock may be from ours. */
  readonly skewMs: number;
}

/** One signing: the key, the request, and what the certificate must say. */
export interface SignRequest {
  readonly key: EphemeralKey;
  readonly path: string;
  readonly body: JsonFields;
  readonly principals: readonly string[];
  readonly keyId: string;
  /** The options the certificate must carry exactly, when the invocation is bound. */
  readonly bound: SshCertificateBinding | undefined;
  /** Epoch seconds: the certificate may be valid until then at most (with the skew). */
  readonly notAfter: number;
  readonly now: number;
}

/** The request for a certificate for the AC's logins, and a new key for it. */
export function signRequest(
  signing: SshSigning,
  ac: AcContext,
  now: number,
  binding?: CredentialBinding,
): SignRequest {
  const principals = ac.ssh_principals ?? [];
  if (principals.length === 0 || !principals.every((p) => SSH_LOGIN_PATTERN.test(p))) {
    throw new CredentialResolutionError(BackendReasons.invalidRequest);
  }
  const ttl = Math.min(signing.ttlSeconds, Math.floor((ac.expires_at * 1000 - now) / 1000));
  if (ttl < 1) throw new CredentialResolutionError(BackendReasons.invalidRequest);
  const keyId = `bastion ac=${ac.ac_id} sub=${ac.principal_did}`.slice(0, 256);
  const bound = sshCertificateBinding(binding);
  const key = ephemeralEd25519Key('bastion-ephemeral');
  return {
    key,
    path: `${signing.mount}/sign/${signing.role}`,
    body: [
      ['public_key', ed25519PublicKeyLine(key.publicKey32, '')],
      ['valid_principals', principals.join(',')],
      ['cert_type', 'user'],
      ['key_id', keyId],
      ['ttl', `${ttl}s`],
      ...(bound !== undefined
        ? ([
            ['critical_options', bound.criticalOptions],
            ['extensions', Object.fromEntries(bound.extensions.map((e) => [e, '']))],
          ] as const)
        : []),
    ],
    principals,
    keyId,
    bound,
    notAfter: Math.floor(now / 1000) + ttl,
    now,
  };
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * The credential for the certificate in a sign reply's `data`, once it passes every
 * check; `backend_error` otherwise. Takes ownership of the request's key either way.
 */
export function sshCredential(
  data: Record<string, unknown>,
  request: SignRequest,
  signing: SshSigning,
  target: string,
  issuedBy: string,
): SshCertCredential {
  const privateKey = Secret.adopt(request.key.pem);
  try {
    const text = data['signed_key'];
    if (typeof text !== 'string' || text.length > MAX_CERTIFICATE_CHARS) throw new RangeError();
    const certificate = text.trim();
    const cert = parseEd25519Certificate(certificate);
    const skew = signing.skewMs / 1000;
    const now = request.now / 1000;
    const validAfter = Number(cert.validAfter);
    const validBefore = Number(cert.validBefore);
    if (
      cert.certType !== SSH_CERT_TYPE_USER ||
      !cert.publicKey32.equals(request.key.publicKey32) ||
      !sameSet(cert.principals, request.principals) ||
      cert.keyId !== request.keyId ||
      (request.bound !== undefined && !certificateHonours(cert, request.bound)) ||
      validAfter > now + skew ||
      validBefore <= now ||
      validBefore > request.notAfter + skew
    ) {
      throw new RangeError();
    }
    return {
      type: 'ssh_cert',
      target,
      certificate,
      privateKey,
      principals: [...cert.principals],
      notBefore: new Date(validAfter * 1000),
      expiresAt: new Date(validBefore * 1000),
      scopedTo: `ssh as ${cert.principals.join(',')} on ${target}`,
      issuedBy,
      id: cert.serial.toString(),
    };
  } catch {
    privateKey.dispose();
    throw new CredentialResolutionError(BackendReasons.failed);
  }
}
