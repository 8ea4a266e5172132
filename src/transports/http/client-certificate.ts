/**
 * Mutual TLS for the HTTP transport: the TLS context that presents a client certificate
 * (an X.509-SVID) to the target. The private key is read once, inside `Secret.use`, and
 * handed as bytes straight to OpenSSL (Node's TLS takes a key as PEM bytes, not as a
 * KeyObject): no JS string of it is ever made, and the Secret is zero-filled by whoever
 * owns the credential. When a bundle comes with the certificate, the target must chain to
 * it alone (its trust domain's CA), not to the system's roots.
 */
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { Secret } from '../../credentials/secret.js';
import { HttpTransportError } from './errors.js';

export interface ClientCertificate {
  /** Leaf first, PEM. */
  readonly certificateChain: string;
  /** PKCS#8 PEM. */
  readonly privateKey: Secret;
  /** CA certificates (PEM) the target must chain to, instead of the system's roots. */
  readonly bundle?: string | undefined;
}

/**
 * One TLS context for every hop of a request (redirects stay on the target). Throws
 * http_client_certificate_unusable when the key does not fit the certificate, or either
 * does not parse.
 */
export function clientTlsContext(
  client: ClientCertificate,
  extraCa: string | undefined,
): SecureContext {
  const ca = client.bundle ?? (extraCa !== undefined ? [...rootCertificates, extraCa] : undefined);
  try {
    return client.privateKey.use((key) =>
      createSecureContext({
        key,
        cert: client.certificateChain,
        ...(ca !== undefined ? { ca } : {}),
      }),
    );
  } catch {
    throw new HttpTransportError('clientCertificateUnusable');
  }
}
