/**
 * The checks a credential must pass before the resolver hands it to a transport, in a
 * fixed order: structure → type → target → issuer → key pair → time. Pure: the caller
 * passes `now`.
 *
 * Key pair: an `ssh_cert` credential's certificate must certify the public key of the
 * private key it comes with (sshd would refuse the pair later; refused here, it is revoked
 * and wiped like any other refused credential, and the next backend is asked).
 *
 * Binding: when the caller bound an `ssh_cert` to a command (binding.ts), the certificate
 * must carry exactly those critical options and extensions — a backend that drops the
 * binding, or adds a `permit-*` extension, is refused like one that certifies another key.
 *
 * Time rules (ms; `skew` is the configured allowance):
 * - `expiresAt` must be a valid Date, and `expiresAt - now >= minWindow` (so one expiring
 *   exactly now, or within the minimum window, is refused);
 * - `expiresAt <= now + maxTtl + skew`; beyond that a backend whose issuer cannot shorten
 *   lifetimes is clamped to `now + maxTtl` and marked must-revoke, any other is refused.
 *   A clamping backend is clamped as soon as its expiry passes `now + maxTtl`, so the
 *   window the broker uses never exceeds the max TTL;
 * - `notBefore`, when present, must be a valid Date no later than `now + skew`.
 */
import { parseEd25519Certificate } from '../ssh/certificate.js';
import { checkCertificateKeyPair, SshKeyError } from '../ssh/ssh-key.js';
import { certificateHonours, type SshCertificateBinding } from './binding.js';
import { RejectReasons, type RejectReason } from './errors.js';
import { Secret } from './secret.js';
import type { Credential, CredentialType, SshCertCredential } from './types.js';

export interface CheckContext {
  type: CredentialType;
  target: string;
  backendId: string;
  /** The backend declared that its issuer cannot shorten lifetimes. */
  canClamp: boolean;
  now: number;
  maxTtlMs: number;
  minWindowMs: number;
  skewMs: number;
  /** What an ssh_cert's certificate must be bound to, when the caller bound it. */
  ssh?: SshCertificateBinding | undefined;
}

export type CheckResult = { credential: Credential } | { reason: RejectReason };

type Loose = Record<string, unknown>;

export function checkCredential(value: unknown, ctx: CheckContext): CheckResult {
  if (typeof value !== 'object' || value === null) return { reason: RejectReasons.malformed };
  const c = value as Loose;
  if (c['type'] !== ctx.type) return { reason: RejectReasons.typeMismatch };
  if (!hasShape(c)) return { reason: RejectReasons.malformed };
  if (c['target'] !== ctx.target) return { reason: RejectReasons.targetMismatch };
  if (c['issuedBy'] !== ctx.backendId) return { reason: RejectReasons.issuerMismatch };
  if (c['type'] === 'ssh_cert') {
    const problem = keyPairProblem(value as SshCertCredential);
    if (problem !== undefined) return { reason: problem };
    if (ctx.ssh !== undefined && !bound(value as SshCertCredential, ctx.ssh))
      return { reason: RejectReasons.bindingMismatch };
  }

  const expiresAt = c['expiresAt'];
  if (expiresAt === undefined || expiresAt === null)
    return { reason: RejectReasons.missingExpiresAt };
  if (!isValidDate(expiresAt)) return { reason: RejectReasons.invalidExpiresAt };
  const notBefore = c['notBefore'];
  if (notBefore !== undefined && !isValidDate(notBefore))
    return { reason: RejectReasons.invalidNotBefore };
  if (notBefore !== undefined && notBefore.getTime() > ctx.now + ctx.skewMs) {
    return { reason: RejectReasons.notYetValid };
  }

  const exp = expiresAt.getTime();
  if (exp <= ctx.now) return { reason: RejectReasons.expired };
  if (exp - ctx.now < ctx.minWindowMs) return { reason: RejectReasons.belowMinWindow };

  // Copy the dates so that a backend keeping a reference cannot move them after the check.
  const base = {
    ...(value as Credential),
    expiresAt: new Date(exp),
    ...(notBefore !== undefined ? { notBefore: new Date(notBefore.getTime()) } : {}),
  };
  const ceiling = ctx.now + ctx.maxTtlMs;
  if (ctx.canClamp && exp > ceiling) {
    return {
      credential: Object.freeze({
        ...base,
        expiresAt: new Date(ceiling),
        issuerExpiresAt: new Date(exp),
        mustRevoke: true,
      }),
    };
  }
  if (exp > ceiling + ctx.skewMs) return { reason: RejectReasons.exceedsMaxTtl };
  return { credential: Object.freeze(base) };
}

/** Why an ssh_cert credential's certificate and private key do not go together, if they do not. */
function keyPairProblem(credential: SshCertCredential): RejectReason | undefined {
  try {
    checkCertificateKeyPair(credential);
    return undefined;
  } catch (err) {
    return err instanceof SshKeyError && err.message === 'key mismatch'
      ? RejectReasons.keyMismatch
      : RejectReasons.malformed;
  }
}

function bound(credential: SshCertCredential, binding: SshCertificateBinding): boolean {
  try {
    return certificateHonours(parseEd25519Certificate(credential.certificate), binding);
  } catch {
    return false;
  }
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

const isLiveSecret = (v: unknown): boolean => v instanceof Secret && !v.disposed;
const isOptional = (v: unknown, test: (v: unknown) => boolean): boolean =>
  v === undefined || test(v);
const isString = (v: unknown): boolean => typeof v === 'string';
const isStringArray = (v: unknown): boolean => Array.isArray(v) && v.every(isString);

const isDpopKey = (v: unknown): boolean =>
  typeof v === 'object' &&
  v !== null &&
  isLiveSecret((v as Loose)['seed']) &&
  isString((v as Loose)['x']) &&
  isString((v as Loose)['jkt']);

/** Every credential's secret bytes are in a live Secret, and metadata has its declared types. */
function hasShape(c: Loose): boolean {
  if (!isString(c['target']) || !isString(c['scopedTo']) || !isString(c['issuedBy'])) return false;
  if (!isOptional(c['id'], isString)) return false;
  switch (c['type']) {
    case 'ssh_cert':
      return (
        isString(c['certificate']) &&
        isLiveSecret(c['privateKey']) &&
        isStringArray(c['principals'])
      );
    case 'oauth':
      return (
        isLiveSecret(c['accessToken']) &&
        isString(c['tokenType']) &&
        isOptional(c['scope'], isStringArray) &&
        isOptional(c['dpop'], isDpopKey)
      );
    case 'kerberos':
      return isLiveSecret(c['ticket']);
    case 'aws':
      return (
        isString(c['accessKeyId']) &&
        isLiveSecret(c['secretAccessKey']) &&
        isLiveSecret(c['sessionToken']) &&
        isOptional(c['assumedRoleArn'], isString)
      );
    case 'x509_svid':
      return (
        isString(c['spiffeId']) &&
        isString(c['certificateChain']) &&
        isLiveSecret(c['privateKey']) &&
        isOptional(c['bundle'], isString)
      );
    case 'bascule_ac':
      return (
        typeof c['authorizationContext'] === 'object' &&
        c['authorizationContext'] !== null &&
        isOptional(c['token'], isLiveSecret)
      );
    default:
      return false;
  }
}
