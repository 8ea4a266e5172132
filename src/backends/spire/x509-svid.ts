/**
 * A FetchX509SVID reply as the broker's `x509_svid` credential: a client certificate for
 * mutual TLS to the target. The private key arrives as PKCS#8 DER inside the gRPC reply;
 * it is written as PEM into a `Secret` (der.ts) and the reply's copy zero-filled at once.
 * The reply is read without trusting it: the leaf must name exactly the SPIFFE ID the
 * reply gives (its one URI SAN), certify the private key sent with it, and carry valid
 * dates (its `notAfter` is the credential's expiry, which the resolver holds to its
 * window). The trust domain's bundle comes along, for verifying the target, unless the
 * backend is told to leave the target to the system's roots.
 */
import { createPrivateKey, type X509Certificate } from 'node:crypto';
import type { Secret } from '../../credentials/secret.js';
import type { X509SvidCredential } from '../../credentials/types.js';
import { derCertificates, pemSecret } from './der.js';
import { chosenSvid, replyFailure } from './replies.js';

export interface X509SvidRequest {
  readonly target: string;
  /** The identity asked for; undefined: the agent's first (default) one. */
  readonly spiffeId: string | undefined;
  /** Hand on the trust domain's bundle, for verifying the target's certificate. */
  readonly withBundle: boolean;
  /** Epoch ms the call started: the certificate must expire after it. */
  readonly started: number;
  readonly issuedBy: string;
}

/** The URI SANs of a certificate (Node lists SANs as `URI:…, DNS:…`, quoting odd ones). */
function uriSans(certificate: X509Certificate): string[] | undefined {
  const sans = certificate.subjectAltName;
  if (sans === undefined) return [];
  // A quoted entry holds a comma or a quote: no SPIFFE ID does, so refuse the certificate.
  if (sans.includes('"')) return undefined;
  return sans
    .split(', ')
    .filter((san) => san.startsWith('URI:'))
    .map((san) => san.slice(4));
}

function dateOf(text: string): number {
  return new Date(text).getTime();
}

/** The key as PEM in a Secret, if it is the key `leaf` certifies; the DER copy is zeroed. */
function keyOf(der: unknown, leaf: X509Certificate): Secret {
  if (!(der instanceof Uint8Array) || der.byteLength === 0 || der.byteLength > 16 * 1024) {
    throw replyFailure();
  }
  try {
    const key = createPrivateKey({
      key: Buffer.from(der.buffer, der.byteOffset, der.byteLength),
      format: 'der',
      type: 'pkcs8',
    });
    if (!leaf.checkPrivateKey(key)) throw replyFailure();
    return pemSecret(der, 'PRIVATE KEY');
  } catch {
    throw replyFailure();
  } finally {
    der.fill(0);
  }
}

export function x509SvidCredential(reply: unknown, request: X509SvidRequest): X509SvidCredential {
  const svid = chosenSvid(reply, request.spiffeId);
  const key = svid['x509_svid_key'];
  try {
    const chain = derCertificates(svid['x509_svid']);
    const bundle = request.withBundle ? derCertificates(svid['bundle']) : [];
    const leaf = chain?.[0];
    if (leaf === undefined || bundle === undefined) throw replyFailure();
    const uris = uriSans(leaf);
    const notBefore = dateOf(leaf.validFrom);
    const notAfter = dateOf(leaf.validTo);
    if (
      uris?.length !== 1 ||
      uris[0] !== svid.spiffe_id ||
      !Number.isFinite(notBefore) ||
      !Number.isFinite(notAfter) ||
      notAfter <= request.started
    ) {
      throw replyFailure();
    }
    const privateKey = keyOf(key, leaf);
    return {
      type: 'x509_svid',
      target: request.target,
      spiffeId: svid.spiffe_id,
      certificateChain: (chain ?? []).map((c) => c.toString()).join(''),
      privateKey,
      ...(request.withBundle ? { bundle: bundle.map((c) => c.toString()).join('') } : {}),
      notBefore: new Date(notBefore),
      expiresAt: new Date(notAfter),
      scopedTo: `X.509-SVID of ${svid.spiffe_id} for mutual TLS to ${request.target}`,
      issuedBy: request.issuedBy,
      id: leaf.serialNumber,
    };
  } finally {
    // Whatever happened, the reply's copy of the key is not left behind.
    if (key instanceof Uint8Array) key.fill(0);
  }
}
