/**
 * OpenSSH Ed25519 user certificates (PROTOCOL.certkeys): signed here, by hand on
 * node:crypto, because sshpk writes certificates without extensions (so no pty or
 * forwarding); and parsed back for their metadata (serial, principals, validity).
 */
import { type KeyObject, randomBytes, sign } from 'node:crypto';
import { ED25519, ed25519PublicBlob, rawEd25519PublicKey } from './ed25519.js';
import { Reader, sshString, u32, u64 } from './wire.js';

export const ED25519_CERT = 'ssh-ed25519-cert-v01@openssh.com';
export const SSH_CERT_TYPE_USER = 1;

/** A POSIX-ish login name: what sshd compares against AuthorizedPrincipalsFile lines. */
export const SSH_LOGIN_PATTERN = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$/;

/** OpenSSH's default extensions for a user certificate (ssh-keygen without -O clear). */
export const OPENSSH_DEFAULT_EXTENSIONS: readonly string[] = [
  'permit-X11-forwarding',
  'permit-agent-forwarding',
  'permit-port-forwarding',
  'permit-pty',
  'permit-user-rc',
];

export interface UserCertificateRequest {
  /** The CA's Ed25519 private key; its public half is embedded as the signature key. */
  caPrivateKey: KeyObject;
  /** The CA's public key blob, when the caller has it already (saves deriving it per call). */
  caPublicBlob?: Buffer | undefined;
  userPublicKey32: Uint8Array;
  serial: bigint;
  keyId: string;
  principals: readonly string[];
  /** Seconds since the epoch. */
  validAfter: number;
  /** Seconds since the epoch. */
  validBefore: number;
  extensions?: readonly string[];
  criticalOptions?: Readonly<Record<string, string>>;
}

/** Signs an OpenSSH user certificate and returns its one-line text form. */
export function signUserCertificate(req: UserCertificateRequest): string {
  // Extensions and critical options must be sorted by name (PROTOCOL.certkeys).
  const extensions = [...(req.extensions ?? OPENSSH_DEFAULT_EXTENSIONS)]
    .sort()
    .map((name) => Buffer.concat([sshString(name), sshString('')]));
  const critical = Object.keys(req.criticalOptions ?? {})
    .sort()
    .map((name) =>
      Buffer.concat([sshString(name), sshString(sshString(req.criticalOptions?.[name] ?? ''))]),
    );
  const caPublic = req.caPublicBlob ?? ed25519PublicBlob(rawEd25519PublicKey(req.caPrivateKey));
  const toBeSigned = Buffer.concat([
    sshString(ED25519_CERT),
    sshString(randomBytes(32)),
    sshString(req.userPublicKey32),
    u64(req.serial),
    u32(SSH_CERT_TYPE_USER),
    sshString(req.keyId),
    sshString(Buffer.concat(req.principals.map((p) => sshString(p)))),
    u64(BigInt(req.validAfter)),
    u64(BigInt(req.validBefore)),
    sshString(Buffer.concat(critical)),
    sshString(Buffer.concat(extensions)),
    sshString(''), // reserved
    sshString(caPublic),
  ]);
  const signature = sign(null, toBeSigned, req.caPrivateKey);
  const blob = Buffer.concat([
    toBeSigned,
    sshString(Buffer.concat([sshString(ED25519), sshString(signature)])),
  ]);
  return `${ED25519_CERT} ${blob.toString('base64')}`;
}

export interface ParsedCertificate {
  keyType: string;
  publicKey32: Buffer;
  serial: bigint;
  certType: number;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  criticalOptions: Record<string, string>;
  extensions: string[];
  signatureKey: Buffer;
}

/**
 * Parses the fields of an Ed25519 user certificate. Does not verify the signature (use
 * `ssh-keygen -L` or sshd for that); for reading metadata such as serial and principals.
 * Throws RangeError on anything malformed.
 */
export function parseEd25519Certificate(text: string): ParsedCertificate {
  const [algo, b64] = text.trim().split(/\s+/);
  if (algo !== ED25519_CERT || b64 === undefined)
    throw new RangeError('not an ed25519 certificate');
  const r = new Reader(Buffer.from(b64, 'base64'));
  const keyType = r.text();
  if (keyType !== ED25519_CERT) throw new RangeError('certificate type mismatch');
  r.bytes(); // nonce
  const publicKey32 = Buffer.from(r.bytes());
  const serial = r.u64();
  const certType = r.u32();
  const keyId = r.text();
  const principals: string[] = [];
  const pr = new Reader(r.bytes());
  while (!pr.done) principals.push(pr.text());
  const validAfter = r.u64();
  const validBefore = r.u64();
  const criticalOptions: Record<string, string> = {};
  const cr = new Reader(r.bytes());
  while (!cr.done) {
    const name = cr.text();
    const data = cr.bytes();
    criticalOptions[name] = data.byteLength === 0 ? '' : new Reader(data).text();
  }
  const extensions: string[] = [];
  const er = new Reader(r.bytes());
  while (!er.done) {
    extensions.push(er.text());
    er.bytes();
  }
  r.bytes(); // reserved
  const signatureKey = Buffer.from(r.bytes());
  r.bytes(); // signature
  if (!r.done) throw new RangeError('trailing bytes');
  return {
    keyType,
    publicKey32,
    serial,
    certType,
    keyId,
    principals,
    validAfter,
    validBefore,
    criticalOptions,
    extensions,
    signatureKey,
  };
}
