/**
 * SigV4 for the HTTP transport, by `@smithy/signature-v4` (the AWS SDK's own signer, not
 * crypto of ours): a `RequestSigner` for one AWS credential, region and service. It adds
 * `x-amz-date`, `x-amz-security-token`, `x-amz-content-sha256` (the body's hash) and
 * `authorization`, and signs Host and every header the caller sends.
 *
 * Zero-credential rules: the secret key and the session token are read from their Secrets
 * only while a request is signed, into the JS strings the signer takes; the signer's HMAC
 * keys go through a hash of ours (sigv4-hash.ts) that zero-fills every key copy and derived
 * key once the request is signed; and the signer's module-wide cache of signing keys
 * (keyed by the session token) is emptied after every signature.
 */
import { clearCredentialCache, SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredential } from '../../credentials/types.js';
import { HttpTransportError } from './errors.js';
import type { RequestSigner, SignableRequest } from './sign.js';
import { wipingSha256 } from './sigv4-hash.js';

export interface SigV4Scope {
  /** e.g. `eu-west-1`. */
  readonly region: string;
  /** The signing name: `s3`, `sts`, `execute-api`, … */
  readonly service: string;
}

/** Headers the signer writes: a caller's own would be signed as theirs, or replace ours. */
export const SIGV4_HEADERS = ['x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256'];

/** What the signer puts on the request; everything else it returns is the caller's. */
const ADDED = new Set(['host', 'authorization', ...SIGV4_HEADERS]);

/** A header value: visible ASCII, so that a faulty issuer cannot inject headers. */
function headerText(bytes: Buffer): string {
  if (bytes.byteLength === 0 || bytes.byteLength > 8192) {
    throw new HttpTransportError('headerInvalid');
  }
  for (const byte of bytes) {
    if (byte < 0x21 || byte > 0x7e) throw new HttpTransportError('headerInvalid');
  }
  return bytes.toString('latin1');
}

/** `%XX` decoded, `+` kept: RFC 3986, as AWS canonicalizes a query (never form encoding). */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpTransportError('pathInvalid');
  }
}

/** The query of a request path as the signer takes it: decoded, repeated keys as lists. */
function queryOf(search: string): Record<string, string | string[]> {
  // No prototype: a `__proto__` key is a key like any other.
  const query = Object.create(null) as Record<string, string | string[]>;
  for (const pair of search === '' ? [] : search.split('&')) {
    const at = pair.indexOf('=');
    const key = decoded(at < 0 ? pair : pair.slice(0, at));
    const value = at < 0 ? '' : decoded(pair.slice(at + 1));
    const had = query[key];
    query[key] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
  }
  return query;
}

export function sigv4Signer(
  credential: Pick<AwsCredential, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>,
  scope: SigV4Scope,
): RequestSigner {
  return async (request: SignableRequest) => {
    if (SIGV4_HEADERS.some((name) => name in request.headers)) {
      throw new HttpTransportError('headerForbidden');
    }
    const at = request.requestPath.indexOf('?');
    const path = at < 0 ? request.requestPath : request.requestPath.slice(0, at);
    const search = at < 0 ? '' : request.requestPath.slice(at + 1);
    const hash = wipingSha256(request.body);
    const signer = new SignatureV4({
      region: scope.region,
      service: scope.service,
      sha256: hash.constructor,
      // S3 signs the path as sent; every other service, each segment encoded once more.
      uriEscapePath: scope.service !== 's3',
      credentials: () =>
        Promise.resolve({
          accessKeyId: credential.accessKeyId,
          // The strings the signer takes, made only now and dropped with it.
          secretAccessKey: credential.secretAccessKey.use(headerText),
          sessionToken: credential.sessionToken.use(headerText),
        }),
    });
    try {
      const signed = await signer.sign({
        method: request.method,
        protocol: `${request.scheme}:`,
        hostname: request.hostname,
        port: request.port,
        path,
        query: queryOf(search),
        headers: { ...request.headers, host: request.host },
        ...(request.body !== undefined ? { body: request.body } : {}),
      });
      const added: Record<string, string> = {};
      for (const [name, value] of Object.entries(signed.headers)) {
        if (ADDED.has(name.toLowerCase())) added[name.toLowerCase()] = value;
      }
      return added;
    } catch (err) {
      throw err instanceof HttpTransportError ? err : new HttpTransportError('connectFailed');
    } finally {
      clearCredentialCache();
      hash.wipe();
    }
  };
}
