/**
 * The HTTP connector with `aws` credentials, end to end on 127.0.0.1: a broker configured
 * as an operator would (`backends: [{kind: aws_sts}]`, `connectors.http.credentials`
 * routing the moto endpoint to `aws` for S3), an AC for that target, and S3 requests
 * through `POST /connectors/http/invoke` that moto (authentication on) accepts only with a
 * valid SigV4 signature and session token. Afterwards the session is revoked at the issuer
 * (the deny policy on the role), and nothing the broker returned holds a secret.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REVOKE_POLICY_NAME } from '../../src/backends/aws-sts/revoke.js';
import { BastionClient, BrokerError } from '../../src/client/client.js';
import { parseConfig } from '../../src/config/config.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import { type RunningServer, startServer } from '../../src/server/app.js';
import type { HttpResult } from '../../src/transports/http/response.js';
import { type AwsProxy, startAwsProxy, xmlText } from '../helpers/aws-proxy.js';
import {
  BUCKET,
  MOTO_REGION,
  type Moto,
  skipWithoutMoto,
  OBJECT_KEY,
  OBJECT_TEXT,
  ROLE_ARN,
  startMoto,
} from '../helpers/moto.js';

describe(
  'HTTP connector with AWS credentials (SigV4) against moto',
  {
    skip: skipWithoutMoto(),
  },
  () => {
    let moto: Moto;
    let sts: AwsProxy;
    let server: RunningServer;
    const alice = generatePrincipalKey();
    const saved = { ...process.env };

    before(async () => {
      moto = await startMoto();
      sts = await startAwsProxy(moto.url);
      Object.assign(process.env, moto.env());
      const dir = mkdtempSync(join(tmpdir(), 'bastion-aws-'));
      const yaml = `listen: 127.0.0.1:0
data_dir: ${join(dir, 'data')}
log_level: silent
connectors:
  http:
    credentials:
      - { targets: ["${moto.url}"], type: aws, region: ${MOTO_REGION}, service: s3 }
backends:
  - kind: aws_sts
    id: aws
    role_arn: ${ROLE_ARN}
    region: ${MOTO_REGION}
    endpoint: ${sts.url}
    iam_endpoint: ${moto.url}
    session_policy:
      actions: { read: [s3:GetObject, s3:ListAllMyBuckets] }
      resources:
        - { targets: ["${moto.url}"], arns: ["arn:aws:s3:::${BUCKET}/*", "arn:aws:s3:::*"] }
accords:
  - id: s3
    principals: [${alice.did}]
    connectors: [http]
    targets: ["${moto.url}"]
    capabilities: [read]
    max_duration: 15m
`;
      server = await startServer({ config: parseConfig(yaml, join(dir, 'bastion.yaml')) });
    });

    after(async () => {
      await server?.close();
      process.env = saved;
      await sts?.close();
      await moto?.stop();
    });

    const invoke = async (operation: Record<string, unknown>) => {
      const client = new BastionClient({ url: server.url, key: alice });
      const issued = await client.authorize({
        accord: 's3',
        connector: 'http',
        target: moto.url,
        capabilities: ['read'],
        duration_seconds: 300,
      });
      if (issued.status !== 'active') throw new Error('the accord needs no approval');
      return client.invoke<HttpResult>('http', issued.ac, { target: moto.url, operation });
    };

    it('GetObject and ListBuckets signed with SigV4; the session is revoked at the issuer afterwards', async () => {
      sts.seen.length = 0;
      const got = await invoke({ method: 'GET', path: `/${BUCKET}/${OBJECT_KEY}` });
      assert.equal(got.result.status, 200);
      assert.equal(got.result.body, OBJECT_TEXT);
      assert.equal(got.credential.type, 'aws');
      assert.equal(got.credential.issued_by, 'aws');
      assert.equal(got.credential.must_revoke, true);
      const policy = (await moto.rolePolicy(REVOKE_POLICY_NAME)) as {
        Statement: { Effect: string }[];
      };
      assert.equal(policy.Statement[0]?.Effect, 'Deny', 'the deny policy is on the role');

      // Nothing the broker returned holds the secret key or the session token.
      const reply = sts.seen.find((r) => r.body.includes('Action=AssumeRole'))?.reply ?? '';
      const secrets = ['SecretAccessKey', 'SessionToken'].map((n) => xmlText(reply, n) ?? '');
      assert.ok(
        secrets.every((s) => s.length >= 40),
        'the proxy saw what STS issued',
      );
      const text = JSON.stringify(got);
      assert.ok(JSON.stringify({ planted: secrets }).includes(secrets[1] ?? '-'), 'control');
      for (const s of secrets) assert.ok(!text.includes(s), 'no secret in the reply');

      // moto ignores the deny policy's condition: without this, every later session is denied.
      await moto.forgetRevocations();
      const listed = await invoke({ method: 'GET', path: '/' });
      assert.equal(listed.result.status, 200);
      assert.match(listed.result.body, new RegExp(`<Name>${BUCKET}</Name>`));
      await moto.forgetRevocations();
    });

    it("refuses the caller's own SigV4 headers before any credential is issued", async () => {
      sts.seen.length = 0;
      await assert.rejects(
        invoke({
          method: 'GET',
          path: '/',
          headers: { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
        }),
        (e: unknown) => e instanceof BrokerError && e.code === 'http_header_forbidden',
      );
      assert.equal(sts.seen.length, 0, 'STS was never asked');
    });
  },
);
