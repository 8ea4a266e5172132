/**
 * The `aws_sts` backend against a real moto server (STS, IAM, S3) on 127.0.0.1, with
 * moto's authentication on: the broker's own identity is an IAM user's keys in the
 * environment (the SDK's standard provider chain), the role's trust policy names that
 * user, and every request's signature, session token and the role's policies are checked
 * by moto. moto does not enforce STS duration bounds, session policies, source identity,
 * tags, expiry or IAM conditions: the tests whose names say so check what Bastion sent or
 * refuses, through a recording proxy.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  AwsStsBackend,
  type AwsStsBackendOptions,
} from '../../src/backends/aws-sts/aws-sts-backend.js';
import { REVOKE_POLICY_NAME } from '../../src/backends/aws-sts/revoke.js';
import { freePort } from '../../src/base/free-port.js';
import { CredentialResolutionError } from '../../src/credentials/errors.js';
import { CredentialResolver } from '../../src/credentials/resolver.js';
import { Secret } from '../../src/credentials/secret.js';
import type { AwsCredential } from '../../src/credentials/types.js';
import { httpRequest } from '../../src/transports/http/request.js';
import { sigv4Signer } from '../../src/transports/http/sigv4.js';
import { acFor } from '../helpers/backends.js';
import { type AwsProxy, formOf, startAwsProxy } from '../helpers/aws-proxy.js';
import {
  BUCKET,
  MOTO_ACCOUNT,
  MOTO_REGION,
  type Moto,
  skipWithoutMoto,
  OBJECT_KEY,
  OBJECT_TEXT,
  ROLE_ARN,
  startMoto,
} from '../helpers/moto.js';

const DID = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';

function settled<T>(p: Promise<T>): Promise<{ ok: T } | { err: unknown }> {
  return p.then(
    (ok) => ({ ok }),
    (err: unknown) => ({ err }),
  );
}

describe('aws_sts backend against moto', { skip: skipWithoutMoto() }, () => {
  let moto: Moto;
  let proxy: AwsProxy;
  let target: string;
  const saved = { ...process.env };
  const made: AwsStsBackend[] = [];

  const backend = async (o: Partial<AwsStsBackendOptions> = {}): Promise<AwsStsBackend> => {
    const b = await AwsStsBackend.create({
      roleArn: ROLE_ARN,
      region: MOTO_REGION,
      endpoint: proxy.url,
      iamEndpoint: moto.url,
      sessionPolicy: {
        actions: { read: ['s3:GetObject', 's3:ListAllMyBuckets'], write: ['s3:PutObject'] },
        resources: [{ targets: [target], arns: [`arn:aws:s3:::${BUCKET}/*`] }],
      },
      ...o,
    });
    made.push(b);
    return b;
  };
  const ac = (overrides = {}) =>
    acFor(target, Date.now(), { principal_did: DID, ac_id: 'ac-aws-1', ...overrides });

  /** GET the object with the credential, signed for S3 by the HTTP transport. */
  const getObject = (c: AwsCredential) =>
    httpRequest({
      base: target,
      method: 'GET',
      path: `/${BUCKET}/${OBJECT_KEY}`,
      sign: sigv4Signer(c, { region: MOTO_REGION, service: 's3' }),
      limits: { maxOutputBytes: 65536, timeoutMs: 10_000 },
    });

  before(async () => {
    moto = await startMoto();
    proxy = await startAwsProxy(moto.url);
    target = moto.url;
    // The broker's own identity: the standard provider chain finds it in the environment.
    Object.assign(process.env, moto.env());
  });

  after(async () => {
    for (const b of made) await b.close();
    process.env = saved;
    await proxy?.close();
    await moto?.stop();
  });

  it('issues a session the target accepts, clamped to 5 minutes and marked must-revoke', async () => {
    const resolver = new CredentialResolver();
    resolver.register(await backend());
    const started = Date.now();
    const c = await resolver.resolve('aws', target, ac());
    try {
      assert.equal(c.issuedBy, 'aws-sts');
      assert.ok(c.secretAccessKey instanceof Secret && c.sessionToken instanceof Secret);
      assert.match(c.assumedRoleArn ?? '', /assumed-role\/bastion-target\/bastion-ac-aws-1$/);
      assert.equal(c.mustRevoke, true);
      assert.ok(c.expiresAt.getTime() <= Date.now() + 5 * 60_000);
      const issuer = c.issuerExpiresAt?.getTime() ?? 0;
      assert.ok(issuer >= started + 899_000 && issuer <= Date.now() + 901_000, 'STS: 15 minutes');
      const got = await getObject(c);
      assert.equal(got.status, 200);
      assert.equal(got.body, OBJECT_TEXT);
    } finally {
      await resolver.discard(c);
      await moto.forgetRevocations();
    }
  });

  it('asks for 900 s, a session policy of the AC, its principal and AC id (moto checks none of these: we do)', async () => {
    const b = await backend({ sourceIdentity: { 'did:key:z6MkOther': 'someone' } });
    proxy.seen.length = 0;
    const c = await b.resolve(
      'aws',
      target,
      ac({ capabilities: ['read'], act: { sub: 'did:key:z6MkAgent' } }),
    );
    c.secretAccessKey.dispose();
    c.sessionToken.dispose();
    const form = formOf(proxy.seen[0]?.body ?? '');
    assert.equal(form['Action'], 'AssumeRole');
    assert.equal(form['RoleArn'], ROLE_ARN);
    assert.equal(form['DurationSeconds'], '900');
    assert.equal(form['RoleSessionName'], 'bastion-ac-aws-1');
    assert.equal(form['SourceIdentity'], DID.replaceAll(':', '.'));
    assert.deepEqual(JSON.parse(form['Policy'] ?? ''), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:ListAllMyBuckets'],
          Resource: [`arn:aws:s3:::${BUCKET}/*`],
        },
      ],
    });
    const tags = Object.fromEntries(
      [1, 2, 3, 4].map((n) => [form[`Tags.member.${n}.Key`], form[`Tags.member.${n}.Value`]]),
    );
    assert.deepEqual(tags, {
      'bastion-ac': 'ac-aws-1',
      'bastion-accord': 'test',
      'bastion-principal': DID,
      'bastion-agent': 'did:key:z6MkAgent',
    });
    // A mapped principal's identity is the mapped name.
    proxy.seen.length = 0;
    const mapped = await b.resolve('aws', target, ac({ principal_did: 'did:key:z6MkOther' }));
    mapped.secretAccessKey.dispose();
    assert.equal(formOf(proxy.seen[0]?.body ?? '')['SourceIdentity'], 'someone');
  });

  it('revokes at the issuer: the role gets the deny-older-sessions policy (moto ignores its condition and so denies the session)', async () => {
    const resolver = new CredentialResolver();
    resolver.register(await backend());
    const c = await resolver.resolve('aws', target, ac());
    const keys = {
      ...c,
      secretAccessKey: Secret.copyOf(c.secretAccessKey.unsafeReveal()),
      sessionToken: Secret.copyOf(c.sessionToken.unsafeReveal()),
    };
    try {
      assert.equal((await getObject(keys)).status, 200);
      const before = Date.now();
      await resolver.discard(c);
      assert.ok(c.secretAccessKey.disposed && c.sessionToken.disposed, 'zero-filled');
      const policy = (await moto.rolePolicy(REVOKE_POLICY_NAME)) as {
        Statement: {
          Effect: string;
          Action: string[];
          Condition: Record<string, Record<string, string>>;
        }[];
      };
      assert.equal(policy.Statement[0]?.Effect, 'Deny');
      assert.deepEqual(policy.Statement[0]?.Action, ['*']);
      const issuedBefore = Date.parse(
        policy.Statement[0]?.Condition['DateLessThan']?.['aws:TokenIssueTime'] ?? '',
      );
      assert.ok(
        issuedBefore >= before - 1000 && issuedBefore <= Date.now(),
        'deny sessions issued before now',
      );
      assert.equal((await getObject(keys)).status, 403, 'moto refuses the revoked session');
    } finally {
      keys.secretAccessKey.dispose();
      keys.sessionToken.dispose();
      await moto.forgetRevocations();
    }
  });

  it('with revoke: none, writes no policy on the role', async () => {
    const resolver = new CredentialResolver();
    resolver.register(await backend({ revoke: 'none' }));
    const c = await resolver.resolve('aws', target, ac());
    await resolver.discard(c);
    assert.equal(await moto.rolePolicy(REVOKE_POLICY_NAME), undefined);
  });

  it('refuses a reply valid beyond the duration asked for (moto does not bound it: we do)', async () => {
    const b = await backend();
    proxy.rewrite = (xml) =>
      xml.replace(
        /<Expiration>[^<]*<\/Expiration>/,
        `<Expiration>${new Date(Date.now() + 2 * 3600_000).toISOString()}</Expiration>`,
      );
    try {
      const r = await settled(b.resolve('aws', target, ac()));
      assert.ok('err' in r && r.err instanceof CredentialResolutionError);
      assert.equal(r.err.reason, 'backend_error');
    } finally {
      proxy.rewrite = undefined;
    }
  });

  it('refuses a malformed reply and an oversized one', async () => {
    const b = await backend();
    const cases: [string, (xml: string) => string][] = [
      ['no secret key', (xml) => xml.replace(/<SecretAccessKey>[^<]*<\/SecretAccessKey>/, '')],
      [
        'a secret key with a line break',
        (xml) => xml.replace(/<SecretAccessKey>/, '<SecretAccessKey>a\r\nb'),
      ],
      ['not XML', () => '{"Credentials": "none"}'],
      [
        'an expiry that is no time',
        (xml) => xml.replace(/<Expiration>[^<]*</, '<Expiration>soon<'),
      ],
      [
        'over 64 KiB',
        (xml) =>
          xml.replace('<AssumeRoleResult>', `<AssumeRoleResult><Pad>${'x'.repeat(70_000)}</Pad>`),
      ],
    ];
    try {
      for (const [what, rewrite] of cases) {
        proxy.rewrite = rewrite;
        const r = await settled(b.resolve('aws', target, ac()));
        assert.ok('err' in r && r.err instanceof CredentialResolutionError, what);
        assert.equal(r.err.reason, 'backend_error', what);
      }
    } finally {
      proxy.rewrite = undefined;
    }
  });

  it('is refused by STS for a principal the trust policy does not name, and for another role', async () => {
    const stranger = await backend({ identity: () => Promise.resolve(moto.stranger) });
    const r1 = await settled(stranger.resolve('aws', target, ac()));
    assert.ok('err' in r1 && r1.err instanceof CredentialResolutionError);
    assert.equal(r1.err.reason, 'backend_denied');
    const other = await backend({ roleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/another` });
    const r2 = await settled(other.resolve('aws', target, ac()));
    assert.ok('err' in r2 && r2.err instanceof CredentialResolutionError);
    assert.equal(r2.err.reason, 'backend_denied');
  });

  it('is unavailable when STS is down', async () => {
    const down = await backend({ endpoint: `http://127.0.0.1:${await freePort()}` });
    const r = await settled(down.resolve('aws', target, ac()));
    assert.ok('err' in r && r.err instanceof CredentialResolutionError);
    assert.equal(r.err.reason, 'backend_unavailable');
  });

  it('stops at the resolver deadline, and the abort reaches the socket', async () => {
    const sockets: Socket[] = [];
    let closed!: () => void;
    const gone = new Promise<void>((resolve) => (closed = resolve));
    const silent: Server = createServer(() => undefined);
    silent.on('connection', (s: Socket) => {
      sockets.push(s);
      s.once('close', closed);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const resolver = new CredentialResolver();
      resolver.register(
        await backend({
          endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
          timeoutMs: 300,
        }),
      );
      const r = await settled(resolver.resolve('aws', target, ac()));
      assert.ok('err' in r && r.err instanceof CredentialResolutionError);
      assert.deepEqual(r.err.attempts, [{ backend: 'aws-sts', reason: 'timeout' }]);
      await gone;
      assert.equal(sockets.length, 1);
    } finally {
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('refuses a target no session-policy rule covers, and an AC whose capabilities map to no action', async () => {
    const b = await backend();
    const other = 'https://elsewhere.example.test';
    const r1 = await settled(b.resolve('aws', other, acFor(other, Date.now())));
    assert.ok('err' in r1 && r1.err instanceof CredentialResolutionError);
    assert.equal(r1.err.reason, 'unsupported_target');
    const r2 = await settled(b.resolve('aws', target, ac({ capabilities: ['exec'] })));
    assert.ok('err' in r2 && r2.err instanceof CredentialResolutionError);
    assert.equal(r2.err.reason, 'invalid_credential_request');
  });
});
