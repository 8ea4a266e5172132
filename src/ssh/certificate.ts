/**
 * OpenSSH Ed25519 user certificates (PROTOCOL.certkeys): signed here, by hand on
 * node:crypto, because sshpk writes certificates without extensions (so no pty or
 * forwarding); and parsed back for their metadata (serial, principals, validity).
 */
import { type KeyObject, sign } from 'node:crypto';
import { ED25519, ed25519PublicBlob, rawEd25519PublicKey } from './ed25519.js';
import { fillPublicRandom } from './public-random.js';
import { Reader, sshString, sshStringLength, Writer } from './wire.js';

export const ED25519_CERT = 'ssh-ed25519-cert-v01@openssh.com';
export const SSH_CERT_TYPE_USER = 1;
const NONCE_LENGTH = 32;

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

/** The signature field after the signed part: its length, then `ssh-ed25519` and 64 bytes. */
const SIGNATURE_LENGTH = 64;
const SIGNATURE_FIELD = sshStringLength(ED25519) + 4 + SIGNATURE_LENGTH;

/** Extensions encoded once per list (a backend passes the same array every time). */
const encodedExtensions = new WeakMap<readonly string[], Buffer>();

/** Name-sorted `string name, string data` pairs (PROTOCOL.certkeys), in one buffer. */
function encodeOptions(entries: readonly (readonly [string, Uint8Array])[]): Buffer {
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const size = sorted.reduce((n, [k, v]) => n + sshStringLength(k) + sshStringLength(v), 0);
  const w = new Writer(Buffer.alloc(size));
  for (const [name, data] of sorted) w.string(name).string(data);
  return w.buf;
}

function extensionsOf(list: readonly string[]): Buffer {
  let encoded = encodedExtensions.get(list);
  if (encoded === undefined) {
    encoded = encodeOptions(list.map((name) => [name, new Uint8Array(0)]));
    encodedExtensions.set(list, encoded);
  }
  return encoded;
}

const NO_OPTIONS = Buffer.alloc(0);

/**
 * Signs an OpenSSH user certificate and returns its one-line text form. The blob is laid
 * out in one buffer sized up front, the nonce drawn straight into it and the signature
 * appended in place; the fixed parts (extensions, the CA's blob) are not re-encoded.
 */
export function signUserCertificate(req: UserCertificateRequest): string {
  const extensions = extensionsOf(req.extensions ?? OPENSSH_DEFAULT_EXTENSIONS);
  const critical = req.criticalOptions
    ? encodeOptions(Object.entries(req.criticalOptions).map(([k, v]) => [k, sshString(v)] as const))
    : NO_OPTIONS;
  const caPublic = req.caPublicBlob ?? ed25519PublicBlob(rawEd25519PublicKey(req.caPrivateKey));
  const principals = req.principals.reduce((n, p) => n + sshStringLength(p), 0);
  const signedLength =
    sshStringLength(ED25519_CERT) +
    (4 + NONCE_LENGTH) +
    sshStringLength(req.userPublicKey32) +
    8 + // serial
    4 + // type
    sshStringLength(req.keyId) +
    (4 + principals) +
    16 + // validity
    sshStringLength(critical) +
    sshStringLength(extensions) +
    4 + // reserved
    sshStringLength(caPublic);
  const w = new Writer(Buffer.alloc(signedLength + 4 + SIGNATURE_FIELD));
  w.string(ED25519_CERT).u32(NONCE_LENGTH);
  fillPublicRandom(w.buf, w.at, NONCE_LENGTH);
  w.at += NONCE_LENGTH;
  w.string(req.userPublicKey32).u64(req.serial).u32(SSH_CERT_TYPE_USER).string(req.keyId);
  w.u32(principals);
  for (const p of req.principals) w.string(p);
  w.u64(BigInt(req.validAfter)).u64(BigInt(req.validBefore));
  w.string(critical).string(extensions).string(NO_OPTIONS).string(caPublic);
  const signature = sign(null, w.buf.subarray(0, signedLength), req.caPrivateKey);
  w.u32(SIGNATURE_FIELD).string(ED25519).string(signature);
  return `${ED25519_CERT} ${w.buf.toString('base64')}`;
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
