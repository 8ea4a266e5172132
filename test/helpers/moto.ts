/**
 * A real moto server (PyPI `moto[server]`) per test file, on a free 127.0.0.1 port, as the
 * AWS peer: STS, IAM and S3 behind one endpoint. Set up while moto's authentication is
 * off — an IAM user for the broker's own identity (allowed to assume one role and to put
 * that role's revoke policy), a stranger user with the same rights whom the role's trust
 * policy does not name, an admin user for the tests' own look-ups, the role (trust policy
 * naming the broker user; identity policy on S3) and a bucket with one object — then
 * authentication is turned on (`/moto-api/reset-auth`, INITIAL_NO_AUTH_ACTION_COUNT = 0),
 * so that from then on every request's SigV4 signature, session token and the role's
 * policies are enforced. Readiness is moto's own start line, then one TCP connect: an HTTP
 * probe would count against INITIAL_NO_AUTH_ACTION_COUNT.
 *
 * moto does not enforce STS duration bounds, session policies, source identity, session
 * tags or expiry, nor IAM conditions (a Deny with a `DateLessThan` condition denies
 * everything): tests check those rules on Bastion's side and say so.
 *
 * scripts/test-all.sh installs moto into a cache keyed by the version in package.json;
 * `skipWithoutMoto` skips a test file where it is missing, except in CI, where that fails.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import {
  CreateAccessKeyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { freePort } from '../../src/base/free-port.js';
import { skipWithoutFile } from './peer-skip.js';
import { pinnedVersion, TOOLS_CACHE } from './tools.js';

/** The one place the version is written: package.json's config (scripts/test-all.sh reads it). */
export const MOTO_VERSION = pinnedVersion('moto');
const MOTO_DIR = join(TOOLS_CACHE, `moto-${MOTO_VERSION}`);
export const MOTO_SERVER = join(MOTO_DIR, 'bin', 'moto_server');
/** The virtualenv's python runs the server: a moved virtualenv keeps its scripts' old paths. */
const MOTO_PYTHON = join(MOTO_DIR, 'bin', 'python3');

export const MOTO_ACCOUNT = '123456789012';
export const MOTO_REGION = 'us-east-1';
export const ROLE_NAME = 'bastion-target';
export const ROLE_ARN = `arn:aws:iam::${MOTO_ACCOUNT}:role/${ROLE_NAME}`;
export const BUCKET = 'bastion-proof';
export const OBJECT_KEY = 'hello.txt';
export const OBJECT_TEXT = 'hello from moto';
/** What Bastion names its revoke policy on the role. */
export const REVOKE_POLICY = 'AWSRevokeOlderSessions';

export interface AwsKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface Moto {
  readonly url: string;
  /** The broker's own identity: the user the role's trust policy names. */
  readonly broker: AwsKeys;
  /** A user with the broker's rights whom the trust policy does not name. */
  readonly stranger: AwsKeys;
  readonly admin: AwsKeys;
  /** Environment for a broker child: its identity through the standard provider chain. */
  env(keys?: AwsKeys): Record<string, string>;
  /** The role's inline policy named `name`, as a document, or undefined. */
  rolePolicy(name: string): Promise<Record<string, unknown> | undefined>;
  /** Removes the revoke policy (moto ignores its condition and would deny later sessions). */
  forgetRevocations(): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

/** A describe's `skip`: false when moto is installed, else why (never in CI: that fails). */
export function skipWithoutMoto(): string | false {
  return skipWithoutFile(MOTO_SERVER, 'moto', 'scripts/test-all.sh');
}

/** True when moto is installed; false where it is not, except in CI, where that fails. */
export function motoInstalled(): boolean {
  return skipWithoutMoto() === false;
}

const json = (doc: unknown): string => JSON.stringify(doc);

/** The broker user's rights: assume the role, and write the role's revoke policy. */
function brokerPolicy(): string {
  return json({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: ROLE_ARN },
      { Effect: 'Allow', Action: 'iam:PutRolePolicy', Resource: ROLE_ARN },
    ],
  });
}

function started(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer): void => {
      out += c.toString();
      if (pattern.test(out)) {
        child.stderr?.off('data', onData);
        resolve();
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`moto_server exited: ${out}`)));
  });
}

function tcpReady(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child = spawn(MOTO_PYTHON, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      // Off while the test sets up; reset-auth turns it on.
      INITIAL_NO_AUTH_ACTION_COUNT: '1000000',
      MOTO_ALLOW_NONEXISTENT_REGION: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  try {
    await started(child, /Running on/);
    await tcpReady(port);
    const url = `http://127.0.0.1:${port}`;
    const setup = await setUp(url);
    const reset = await fetch(`${url}/moto-api/reset-auth`, { method: 'POST', body: '0' });
    assert.equal(reset.status, 200, 'moto turned authentication on');
    const iamAs = (keys: AwsKeys) => iamClient(url, keys);
    return {
      url,
      ...setup,
      env: (keys = setup.broker) => ({
        AWS_ACCESS_KEY_ID: keys.accessKeyId,
        AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
        // Never the instance metadata service, whatever the chain would try next.
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: '/nonexistent',
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      }),
      rolePolicy: async (name) => {
        const iam = iamAs(setup.admin);
        const names = await iam.send(new ListRolePoliciesCommand({ RoleName: ROLE_NAME }));
        if (!(names.PolicyNames ?? []).includes(name)) return undefined;
        const got = await iam.send(
          new GetRolePolicyCommand({ RoleName: ROLE_NAME, PolicyName: name }),
        );
        return JSON.parse(decodeURIComponent(got.PolicyDocument ?? '{}')) as Record<
          string,
          unknown
        >;
      },
      forgetRevocations: async () => {
        const iam = iamAs(setup.admin);
        const names = await iam.send(new ListRolePoliciesCommand({ RoleName: ROLE_NAME }));
        if ((names.PolicyNames ?? []).includes(REVOKE_POLICY)) {
          await iam.send(
            new DeleteRolePolicyCommand({ RoleName: ROLE_NAME, PolicyName: REVOKE_POLICY }),
          );
        }
      },
      log: () => log,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export function iamClient(url: string, keys: AwsKeys): IAMClient {
  return new IAMClient({
    endpoint: url,
    region: MOTO_REGION,
    credentials: keys,
    maxAttempts: 1,
  });
}

/** Users, role, bucket: made while moto's authentication is off. */
async function setUp(url: string): Promise<{ broker: AwsKeys; stranger: AwsKeys; admin: AwsKeys }> {
  const iam = iamClient(url, { accessKeyId: 'AKIASETUP', secretAccessKey: 'setup' });
  const user = async (name: string, policy: string): Promise<{ keys: AwsKeys; arn: string }> => {
    const made = await iam.send(new CreateUserCommand({ UserName: name }));
    await iam.send(
      new PutUserPolicyCommand({ UserName: name, PolicyName: 'rights', PolicyDocument: policy }),
    );
    const key = await iam.send(new CreateAccessKeyCommand({ UserName: name }));
    return {
      arn: made.User?.Arn ?? '',
      keys: {
        accessKeyId: key.AccessKey?.AccessKeyId ?? '',
        secretAccessKey: key.AccessKey?.SecretAccessKey ?? '',
      },
    };
  };
  const broker = await user('bastion-broker', brokerPolicy());
  const stranger = await user('stranger', brokerPolicy());
  const admin = await user(
    'admin',
    json({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
  );
  await iam.send(
    new CreateRoleCommand({
      RoleName: ROLE_NAME,
      AssumeRolePolicyDocument: json({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: broker.arn },
            Action: ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'],
          },
        ],
      }),
    }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: ROLE_NAME,
      PolicyName: 'access',
      PolicyDocument: json({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['s3:*', 'sts:*'], Resource: '*' }],
      }),
    }),
  );
  // The bucket and its object, by plain S3 REST (moto takes it unsigned while auth is off).
  const put = (path: string, body?: string) =>
    fetch(`${url}${path}`, {
      method: 'PUT',
      ...(body !== undefined ? { body } : {}),
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=AKIASETUP/20260101/${MOTO_REGION}/s3/aws4_request, SignedHeaders=host, Signature=0`,
      },
    });
  assert.equal((await put(`/${BUCKET}`)).status, 200, 'bucket made');
  assert.equal((await put(`/${BUCKET}/${OBJECT_KEY}`, OBJECT_TEXT)).status, 200, 'object put');
  return { broker: broker.keys, stranger: stranger.keys, admin: admin.keys };
}

/** PermissionResult of moto's IAM policy evaluator: PERMITTED, DENIED or NEUTRAL. */
export type PolicyDecision = 'PERMITTED' | 'DENIED' | 'NEUTRAL';

/**
 * moto's own IAM policy evaluator (moto.iam.access_control.IAMPolicy, the code that checks
 * a role's policies on every request) on one policy document, offline: moto does not apply
 * a session policy to the session's requests, but it can still say what one allows.
 */
export function motoPolicyDecisions(
  policy: string,
  requests: readonly (readonly [action: string, resource: string])[],
): PolicyDecision[] {
  const script = [
    'import json, sys',
    'from moto.iam.access_control import IAMPolicy',
    'policy = IAMPolicy(sys.argv[1])',
    'for action, resource in json.loads(sys.argv[2]):',
    '    print(policy.is_action_permitted(action, resource).name)',
  ].join('\n');
  const run = spawnSync(MOTO_PYTHON, ['-c', script, policy, JSON.stringify(requests)], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split('\n') as PolicyDecision[];
}
