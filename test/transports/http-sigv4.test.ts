/**
 * SigV4 through the HTTP transport's signing hook, checked by moto (authentication on):
 * it recomputes each signature with botocore from what it received, so a request that
 * passes was signed over exactly what was sent — method, path, query, Host, headers and
 * body. And the negative cases: a wrong secret key (moto refuses the signature), the
 * caller's own SigV4 headers, a secret that would inject a header, and the hash that
 * zero-fills the keys it derives.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { AwsStsBackend } from '../../src/backends/aws-sts/aws-sts-backend.js';
import { Secret } from '../../src/credentials/secret.js';
import type { AwsCredential } from '../../src/credentials/types.js';
import { HttpTransportError } from '../../src/transports/http/errors.js';
import { httpRequest } from '../../src/transports/http/request.js';
import { sigv4Signer } from '../../src/transports/http/sigv4.js';
import { wipingSha256 } from '../../src/transports/http/sigv4-hash.js';
import { acFor } from '../helpers/backends.js';
import {
  BUCKET,
  MOTO_REGION,
  type Moto,
  skipWithoutMoto,
  OBJECT_KEY,
  ROLE_ARN,
  startMoto,
} from '../helpers/moto.js';

const LIMITS = { maxOutputBytes: 65536, timeoutMs: 10_000 };

describe('SigV4 signing hook against moto', { skip: skipWithoutMoto() }, () => {
  let moto: Moto;
  let backend: AwsStsBackend;
  let c: AwsCredential;

  before(async () => {
    moto = await startMoto();
    backend = await AwsStsBackend.create({
      roleArn: ROLE_ARN,
      region: MOTO_REGION,
      endpoint: moto.url,
      identity: () => Promise.resolve(moto.broker),
      revoke: 'none',
      sessionPolicy: {
        actions: { read: ['s3:*'] },
        resources: [{ targets: [moto.url], arns: ['*'] }],
      },
    });
    c = await backend.resolve('aws', moto.url, acFor(moto.url, Date.now()));
  });

  after(async () => {
    c?.secretAccessKey.dispose();
    c?.sessionToken.dispose();
    await backend?.close();
    await moto?.stop();
  });

  const send = (
    o: {
      method: string;
      path: string;
      query?: Record<string, string>;
      body?: string;
      headers?: Record<string, string>;
    },
    credential: Pick<AwsCredential, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'> = c,
    service = 's3',
  ) =>
    httpRequest({
      base: moto.url,
      ...o,
      sign: sigv4Signer(credential, { region: MOTO_REGION, service }),
      limits: LIMITS,
    });

  it('signs a body, a query with spaces and a custom header as sent (moto recomputes the signature)', async () => {
    const put = await send({
      method: 'PUT',
      path: `/${BUCKET}/with%20space.txt`,
      body: 'a body, signed',
      headers: { 'content-type': 'text/plain', 'x-amz-meta-note': 'kept' },
    });
    assert.equal(put.status, 200, put.body);
    const listed = await send({
      method: 'GET',
      path: `/${BUCKET}`,
      query: { 'list-type': '2', prefix: 'with space', 'start-after': 'a+b~*' },
    });
    assert.equal(listed.status, 200, listed.body);
    assert.match(listed.body, /<Key>with space\.txt<\/Key>/);
  });

  it('signs for a service other than S3 (each path segment encoded twice): STS GetCallerIdentity', async () => {
    const r = await send(
      {
        method: 'POST',
        path: '/',
        body: 'Action=GetCallerIdentity&Version=2011-06-15',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      c,
      'sts',
    );
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /assumed-role\/bastion-target\//);
  });

  it('moto refuses a request signed with the wrong secret key', async () => {
    const wrong = {
      accessKeyId: c.accessKeyId,
      secretAccessKey: Secret.fromString('W'.repeat(40)),
      sessionToken: Secret.copyOf(c.sessionToken.unsafeReveal()),
    };
    try {
      const r = await send({ method: 'GET', path: `/${BUCKET}/${OBJECT_KEY}` }, wrong);
      assert.equal(r.status, 403);
      assert.match(r.body, /SignatureDoesNotMatch/);
      assert.equal((await send({ method: 'GET', path: `/${BUCKET}/${OBJECT_KEY}` })).status, 200);
    } finally {
      wrong.secretAccessKey.dispose();
      wrong.sessionToken.dispose();
    }
  });

  it("refuses the caller's SigV4 headers, and a secret that is not visible ASCII, before sending", async () => {
    for (const name of ['x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']) {
      await assert.rejects(
        send({ method: 'GET', path: '/', headers: { [name]: 'x' } }),
        (e: unknown) => e instanceof HttpTransportError && e.code === 'http_header_forbidden',
        name,
      );
    }
    const injecting = {
      accessKeyId: c.accessKeyId,
      secretAccessKey: Secret.copyOf(c.secretAccessKey.unsafeReveal()),
      sessionToken: Secret.fromString('token\r\nx-injected: 1'),
    };
    try {
      await assert.rejects(
        send({ method: 'GET', path: '/' }, injecting),
        (e: unknown) => e instanceof HttpTransportError && e.code === 'http_header_invalid',
      );
    } finally {
      injecting.secretAccessKey.dispose();
      injecting.sessionToken.dispose();
    }
  });
});

describe('the signer’s hash', () => {
  it('zero-fills every HMAC output it handed out, once wiped', async () => {
    const hash = wipingSha256();
    const mac = new hash.constructor('AWS4secret');
    mac.update(Buffer.from('20260101'));
    const key = await mac.digest();
    const plain = new hash.constructor();
    plain.update(Buffer.from('x'));
    const digest = await plain.digest();
    assert.ok(key.some((b) => b !== 0) && digest.some((b) => b !== 0));
    hash.wipe();
    assert.ok(
      key.every((b) => b === 0),
      'the derived key is zero-filled',
    );
    assert.ok(
      digest.some((b) => b !== 0),
      'a plain hash is not a secret',
    );
  });

  it('zero-fills what it hashed (the canonical request holds the session token), but not the body', async () => {
    // Both in one pool slab, as Buffer.from puts them: only the body's own bytes are spared.
    const slab = Buffer.from('body-bytes|canonical request with x-amz-security-token:TOKEN');
    const body = slab.subarray(0, 10);
    const canonical = slab.subarray(11);
    const expected = createHash('sha256').update(Buffer.from(canonical)).update(body).digest();
    const hash = wipingSha256(body);
    const sha = new hash.constructor();
    sha.update(canonical);
    sha.update(body);
    assert.deepEqual(Buffer.from(await sha.digest()), expected, 'the hash is unchanged');
    assert.ok(
      canonical.every((b) => b === 0),
      'the hashed canonical request is zero-filled',
    );
    assert.equal(body.toString(), 'body-bytes', 'the body, still to be sent, is intact');
  });
});
