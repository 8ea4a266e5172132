/**
 * The world the zero-credential proof runs in, all on 127.0.0.1: a `bastion serve` child,
 * probed (it reports each SSH key its dev and vault backends issue; it takes complete
 * heap snapshots), with every backend kind configured — `oauth_exchange` and `entra`
 * against two local authorization servers that tag their tokens with a marker claim,
 * `vault` against the Vault double (its SSH CA trusted by the sshd, its identity tokens
 * tagged by the same means), `dev` (its credentials tagged likewise), `aws_sts` against a
 * moto server behind a proxy that records each session STS issues (its secret key and
 * session token), `spire` against a real SPIRE (its JWT-SVIDs tagged by a marked
 * audience), and the built-in `bascule` — over a real sshd (certificates bound to the
 * broker's address, 127.0.0.1), a real Bascule runtime behind a proxy that records each
 * grant, five small APIs, one per token backend, that record each token they accept (a
 * DPoP-bound one only with a proof of its key: the `oauth_exchange` server does DPoP, and
 * its accord requires the binding), and moto's S3 for the requests the broker signs with
 * SigV4; and `kerberos` against a real MIT KDC, for the `winrm` connector to the WinRM
 * double behind a wire tap (windows.ts). Where moto is not installed or SPIRE not built
 * (and `CI` is unset) the world runs without `aws_sts` or `spire`, and says so; likewise
 * without `kerberos` where the KDC or the double cannot run.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWK } from 'jose';
import { startBascule } from '../../src/bascule/runtime.js';
import { writePrincipalKey, type PrincipalKey } from '../../src/governance/did-key.js';
import { spawnBroker, type ChildBroker } from '../helpers/child-broker.js';
import { type AwsProxy, startAwsProxy } from '../helpers/aws-proxy.js';
import { newMarker } from '../helpers/leak.js';
import {
  BUCKET,
  type Moto,
  motoInstalled,
  MOTO_REGION,
  ROLE_ARN,
  startMoto,
} from '../helpers/moto.js';
import { type AuthorizationServer, startAuthorizationServer } from '../helpers/oauth-as.js';
import { proofHolds } from '../helpers/resource-server.js';
import { spireSkip, startSpire, testWorkload, type TestWorkload } from '../helpers/spire.js';
import { MEMORY_ENV, MEMORY_FLAGS } from './memory-flags.js';
import { type Sshd, SSHD_USER, startSshd } from '../helpers/sshd.js';
import { BOUND_SSH_ROLE, startVaultDouble } from '../peers/vault-double/index.js';
import { skipWithoutWinrmDouble } from '../helpers/winrm-double.js';
import {
  KERBEROS_BACKEND_ID,
  startWindowsWorld,
  type WindowsWorld,
} from '../helpers/windows-world.js';

/** Why SPIRE is left out of this world (not built here, and CI unset), or false. */
export const SPIRE_SKIP = spireSkip();
/** Why Kerberos and WinRM are left out (the KDC or the double cannot run, CI unset), or false. */
export const WINDOWS_SKIP = skipWithoutWinrmDouble();
/** The bearer-token backends, each with its own API (spire: when SPIRE is built). */
const ALL_OAUTH_SOURCES = ['dev', 'oauth_exchange', 'entra', 'vault', 'spire'] as const;
export type OAuthSource = (typeof ALL_OAUTH_SOURCES)[number];
export const OAUTH_SOURCES: readonly OAuthSource[] = ALL_OAUTH_SOURCES.filter(
  (source) => source !== 'spire' || SPIRE_SKIP === false,
);
/** Each source's backend id, and the accord for its API. */
export const BACKEND_ID: Readonly<Record<OAuthSource, string>> = {
  dev: 'dev',
  oauth_exchange: 'corp-as',
  entra: 'entra',
  vault: 'vault',
  spire: 'spire',
};
/** The SSH target whose certificates the vault backend issues (the same sshd, by another name). */
export const VAULT_SSH_TARGET = 'vault-ssh.internal.test';
/** The kind of each backend id the broker is configured with (bascule: built in). */
export const BACKEND_KIND: Readonly<Record<string, string>> = {
  [BACKEND_ID.oauth_exchange]: 'oauth_exchange',
  [BACKEND_ID.entra]: 'entra',
  [BACKEND_ID.spire]: 'spire',
  [BACKEND_ID.dev]: 'dev',
  [BACKEND_ID.vault]: 'vault',
  aws: 'aws_sts',
  bascule: 'bascule',
  [KERBEROS_BACKEND_ID]: 'kerberos',
};
/** The accord for moto's S3, whose requests the broker signs with `aws` credentials. */
export const AWS_ACCORD = 'api-aws';

/** The AWS part of the world: moto, and the proxy in front of its STS. */
export interface AwsWorld {
  readonly moto: Moto;
  /** Records every AssumeRole and its reply: the secrets STS issued. */
  readonly sts: AwsProxy;
  /** The accord's target: moto's endpoint, S3 requests signed by the broker. */
  readonly target: string;
  /** The SourceIdentity the broker gives alice's sessions (its mapping): which sessions are hers. */
  readonly tag: string;
}
export const API_ACCORD: Readonly<Record<OAuthSource, string>> = {
  dev: 'api-dev',
  oauth_exchange: 'api-exchange',
  entra: 'api-entra',
  vault: 'api-vault',
  spire: 'api-spire',
};
/** The broker's SPIFFE ID in the proof's SPIRE. */
export const SPIRE_ID = 'spiffe://example.org/bastion';
/** The source addresses the broker's SSH certificates are bound to: its own. */
export const SSH_SOURCE = '127.0.0.1/32';

/** A token an API accepted: the verified issuer, and the DPoP proof it came with, if any. */
export interface SeenToken {
  readonly token: string;
  readonly iss: string | undefined;
  readonly dpop?: string;
}

/** The proof's SPIRE, as a target API sees it. */
export interface SpireWorld {
  /** The Workload API of the same agent, as a workload of the target's own. */
  readonly workload: TestWorkload;
  /** The audience the broker's JWT-SVIDs are minted for: the spire API's. */
  readonly audience: string;
}

/**
 * A JWT-SVID cannot carry a claim of ours: its tag is its audience, a SPIFFE ID holding the
 * marker, as the token's decoded payload spells it (`"aud":…`) — what a decoded copy of
 * the token would show, and never how the configuration or a log writes the audience.
 */
export function audienceClaimText(token: string): string {
  const payload = Buffer.from(token.split('.')[1] ?? '', 'base64url').toString();
  return /"aud":(?:"[^"]*"|\[[^\]]*\])/.exec(payload)?.[0] ?? '';
}

export interface ProofWorld {
  readonly dir: string;
  readonly dataDir: string;
  /** The broker's working directory. */
  readonly brokerCwd: string;
  readonly broker: ChildBroker;
  readonly alice: PrincipalKey;
  readonly aliceKeyFile: string;
  /** Put in every dev credential; the other backends' tokens carry `tags`. */
  readonly marker: string;
  /** The `marker` claim value in each OAuth source's tokens (spire: inside its audience). */
  readonly tags: Readonly<Record<OAuthSource, string>>;
  /** Base URL of each source's API: the target of its accord. */
  readonly apis: Readonly<Record<OAuthSource, string>>;
  /** Every token each API accepted, the issuer it was verified against, its DPoP proof. */
  readonly tokens: Readonly<Record<OAuthSource, SeenToken[]>>;
  /** Every grant the broker sent to the Bascule runtime. */
  readonly grants: string[];
  /** Undefined where moto is not installed (never in CI). */
  readonly aws: AwsWorld | undefined;
  /** The KDC and the WinRM double; undefined where they cannot run (never in CI). */
  readonly windows: WindowsWorld | undefined;
  /** Undefined where SPIRE is not built (never in CI). */
  readonly spire: SpireWorld | undefined;
  /** The sshd both SSH targets lead to. */
  readonly sshd: Sshd;
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
    }),
  );
}

type Verify = (token: string, audience: string) => Promise<Record<string, unknown>>;

/**
 * The token of a request, with its claims once `verify` accepts it — and, RFC 9449, a token
 * bound to a key (`cnf.jkt`) only as `DPoP <token>` with a fresh proof of that key, a `DPoP`
 * token only when bound: what the stolen-credential tests present a copied token to.
 */
async function accepted(
  req: IncomingMessage,
  base: string,
  verify: Verify,
  jtis: Set<string>,
): Promise<{ token: string; claims: Record<string, unknown> }> {
  const [, scheme, token = ''] =
    /^(Bearer|DPoP) (\S+)$/.exec(req.headers.authorization ?? '') ?? [];
  const claims = await verify(token, base);
  const bound = claims['cnf'] !== undefined;
  if (
    bound !== (scheme === 'DPoP') ||
    (bound && !(await proofHolds(req, base, token, claims, jtis)))
  )
    throw new Error('not a proof of the bound key');
  return { token, claims };
}

/** An API that accepts a token `verify` accepts with the `read` scope (DPoP: see `accepted`). */
async function recordingApi(
  seen: SeenToken[],
  verify: Verify,
): Promise<{ server: Server; base: string }> {
  let base = '';
  const jtis = new Set<string>();
  const server = createServer((req, res) => {
    accepted(req, base, verify, jtis).then(
      ({ token, claims }) => {
        const dpop = req.headers['dpop'];
        seen.push({
          token,
          iss: typeof claims['iss'] === 'string' ? claims['iss'] : undefined,
          ...(typeof dpop === 'string' ? { dpop } : {}),
        });
        const scopes = [claims['scope'], claims['scp']].filter((s) => typeof s === 'string');
        res.writeHead(scopes.join(' ').split(' ').includes('read') ? 200 : 403, {
          'content-type': 'application/json',
        });
        res.end(JSON.stringify({ ok: true }));
      },
      () => res.writeHead(401).end(),
    );
  });
  base = await listen(server);
  return { server, base };
}

/** A Unix-socket HTTP proxy that records the bearer token of each request. */
function recordingProxy(listenPath: string, upstreamPath: string, seen: string[]) {
  const server = createServer((req, res) => {
    seen.push(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    const up = request(
      { socketPath: upstreamPath, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    req.pipe(up);
  });
  return new Promise<Server>((resolve) => server.listen(listenPath, () => resolve(server)));
}

/** What has been started, stopped in reverse; all of it if starting fails midway. */
class Started {
  readonly #closers: (() => unknown)[] = [];

  add<T>(thing: T, close: (t: T) => unknown): T {
    this.#closers.push(() => close(thing));
    return thing;
  }

  async close(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) await close();
  }
}

export async function startProofWorld(): Promise<ProofWorld> {
  const started = new Started();
  try {
    return await start(started);
  } catch (err) {
    await started.close();
    throw err;
  }
}

async function start(started: Started): Promise<ProofWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'bastion-proof-'));
  const dataDir = join(dir, 'data');
  const brokerCwd = join(dir, 'cwd');
  mkdirSync(brokerCwd);
  const marker = newMarker();
  const tags = {
    dev: marker,
    oauth_exchange: newMarker(),
    entra: newMarker(),
    vault: newMarker(),
    spire: newMarker(),
  };
  const spireAudience = `spiffe://example.org/proof-${tags.spire}`;
  const aliceKeyFile = join(dir, 'alice.key');
  const alice = writePrincipalKey(aliceKeyFile);
  const tokens = {
    dev: [],
    oauth_exchange: [],
    entra: [],
    vault: [],
    spire: [],
  } as ProofWorld['tokens'];
  const grants: string[] = [];

  let brokerJwks: { keys: JWK[] } = { keys: [] };
  const asOptions = (resource: string, tag: string) => ({
    brokerJwks: () => brokerJwks,
    resources: { [resource]: { scopes: ['read'] } },
    extraClaims: { marker: tag },
  });
  const byIssuer = (as: () => AuthorizationServer) => (token: string, audience: string) =>
    jwtVerify(token, createLocalJWKSet(as().jwks()), { issuer: as().issuer, audience }).then(
      (r) => r.payload,
    );
  const api = async (source: OAuthSource, verify: Verify) =>
    started.add(await recordingApi(tokens[source], verify), (a) => a.server.close());
  let devJwks: ReturnType<typeof createLocalJWKSet> | undefined;
  // Vault's identity tokens carry what the role's template says: here a scope and the tag.
  const vault = started.add(
    await startVaultDouble({
      sshRoles: { bastion: { allowedUsers: [SSHD_USER], ...BOUND_SSH_ROLE } },
      identityRoles: { api: { ttl: 240, claims: { scope: 'read', marker: tags.vault } } },
    }),
    (v) => v.close(),
  );
  // SPIRE, in a directory of its own under the temp directory the proof scans.
  const spire =
    SPIRE_SKIP === false
      ? started.add(await startSpire({ entries: [{ spiffeId: SPIRE_ID }] }), (s) => s.stop())
      : undefined;
  const workload = spire && started.add(testWorkload(spire.socket), (w) => w.close());
  const spireJwks = workload && createLocalJWKSet(await workload.jwks());
  const apis: Record<OAuthSource, { server: Server; base: string }> = {
    dev: await api('dev', async (token, audience) => {
      devJwks ??= createLocalJWKSet(
        JSON.parse(readFileSync(join(dataDir, 'dev-jwks.json'), 'utf8')) as JSONWebKeySet,
      );
      return (await jwtVerify(token, devJwks, { audience, typ: 'at+jwt' })).payload;
    }),
    oauth_exchange: await api(
      'oauth_exchange',
      byIssuer(() => exchangeAs),
    ),
    entra: await api(
      'entra',
      byIssuer(() => entraAs),
    ),
    vault: await api('vault', (token) =>
      jwtVerify(token, createLocalJWKSet(vault.jwks()), {
        issuer: vault.identity.issuer,
        audience: vault.identity.clientIds.get('api') ?? '',
      }).then((r) => r.payload),
    ),
    // Verified against the trust domain's JWT bundle, for its marked audience.
    spire: await api('spire', async (token) => {
      if (spireJwks === undefined) throw new Error('SPIRE is not running');
      const { payload } = await jwtVerify(token, spireJwks, {
        audience: spireAudience,
        subject: SPIRE_ID,
      });
      return { ...payload, scope: 'read' };
    }),
  };
  const exchangeAs: AuthorizationServer = started.add(
    await startAuthorizationServer({
      ...asOptions(apis.oauth_exchange.base, tags.oauth_exchange),
      dpop: true,
    }),
    (as) => as.close(),
  );
  const entraAs: AuthorizationServer = started.add(
    await startAuthorizationServer({
      ...asOptions(apis.entra.base, tags.entra),
      tls: true,
      clientSecret: exchangeAs.clientSecret,
    }),
    (as) => as.close(),
  );
  writeFileSync(join(dir, 'entra-ca.pem'), entraAs.certPem ?? '');

  const aws = motoInstalled() ? await startAws(started) : undefined;
  const windows =
    WINDOWS_SKIP === false ? started.add(await startWindowsWorld(), (w) => w.close()) : undefined;

  const sshd = started.add(
    await startSshd({ caPublicKeys: [], principals: { [SSHD_USER]: [SSHD_USER] } }),
    (d) => d.stop(),
  );
  writeFileSync(
    join(dir, 'known_hosts'),
    `${sshd.knownHostsText}[${VAULT_SSH_TARGET}]:${sshd.port} ${sshd.hostKeyLine}\n`,
  );
  const basculeSock = join(dir, 'bascule.sock');
  const proxySock = join(dir, 'proxy.sock');
  const accord = (id: string, connector: string, target: string, capability: string) => `
  - id: ${id}
    principals: [${alice.did}]
    connectors: [${connector}]
    targets: ["${target}"]
    capabilities: [${capability}]
    max_duration: 15m`;
  writeFileSync(
    join(dir, 'bastion.yaml'),
    `listen: 127.0.0.1:0
data_dir: ${dataDir}
log_level: debug
admins: [${alice.did}]
connectors:
  ssh:
    known_hosts: ${join(dir, 'known_hosts')}
    source_addresses: ["${SSH_SOURCE}"]
    hosts:
      "127.0.0.1": { port: ${sshd.port} }
      "${VAULT_SSH_TARGET}": { address: 127.0.0.1, port: ${sshd.port} }
  bascule: { targets: { "db1.internal.test": "unix:${proxySock}" } }
${aws === undefined ? '' : `  http: { credentials: [{ targets: ["${aws.target}"], type: aws, region: ${MOTO_REGION}, service: s3 }] }`}
${windows?.connectorYaml ?? ''}backends:
  - kind: vault
    id: ${BACKEND_ID.vault}
    address: ${vault.address}
    auth: { approle: { role_id: ${vault.roleId}, secret_id_env: PROOF_VAULT_SECRET_ID } }
    ssh: { mount: ssh-client-signer, role: bastion, targets: ["${VAULT_SSH_TARGET}"] }
    tokens: { "${apis.vault.base}": { identity_role: api } }
  - kind: oauth_exchange
    id: ${BACKEND_ID.oauth_exchange}
    token_endpoint: ${exchangeAs.tokenEndpoint}
    revocation_endpoint: ${exchangeAs.revocationEndpoint}
    issuer: ${exchangeAs.issuer}
    client_id: ${exchangeAs.clientIds.secretBasic}
    client_secret_env: PROOF_AS_SECRET
  - kind: entra
    id: ${BACKEND_ID.entra}
    authority: ${entraAs.issuer}
    known_authorities: ["${new URL(entraAs.issuer).host}"]
    protocol_mode: OIDC
    tls_ca_file: ${join(dir, 'entra-ca.pem')}
    client_id: ${entraAs.clientIds.secretBasic}
    client_secret_env: PROOF_AS_SECRET
${
  spire === undefined
    ? ''
    : `  - kind: spire
    id: ${BACKEND_ID.spire}
    socket: ${spire.socket}
    targets: ["${apis.spire.base}"]
    spiffe_id: ${SPIRE_ID}
    audiences: [{ targets: ["${apis.spire.base}"], audience: ${spireAudience} }]
`
}  - kind: dev
    id: ${BACKEND_ID.dev}
${aws === undefined ? '' : awsBackend(aws, alice.did)}
${windows?.backendYaml ?? ''}accords:${accord('ssh-ops', 'ssh', '127.0.0.1', 'exec')}
    commands: { allow: ["*"], deny: ["*rm *", "rm *"] }
    ssh_login: ${SSHD_USER}${accord('ssh-vault', 'ssh', VAULT_SSH_TARGET, 'exec')}
    ssh_login: ${SSHD_USER}${accord('bascule-ops', 'bascule', 'db1.internal.test', 'exec')}${OAUTH_SOURCES.map(
      (source) =>
        accord(API_ACCORD[source], 'http', apis[source].base, 'read') +
        // The bound path, or nothing: a bearer token here would fail the invocation.
        (source === 'oauth_exchange' ? '\n    oauth: { sender_constrained: required }' : ''),
    ).join(
      '',
    )}${aws === undefined ? '' : accord(AWS_ACCORD, 'http', aws.target, 'read')}${windows?.accordYaml(alice.did) ?? ''}
`,
  );
  const broker = started.add(
    await spawnBroker(join(dir, 'bastion.yaml'), {
      cwd: brokerCwd,
      env: {
        ...MEMORY_ENV,
        BASTION_DEV_CREDENTIAL_MARKER: marker,
        PROOF_AS_SECRET: exchangeAs.clientSecret,
        PROOF_VAULT_SECRET_ID: vault.secretId,
        ...aws?.moto.env(),
      },
      nodeArgs: MEMORY_FLAGS,
      probe: true,
    }),
    (b) => b.stop(),
  );
  brokerJwks = (await (await fetch(`${broker.url}/.well-known/jwks.json`)).json()) as {
    keys: JWK[];
  };
  sshd.setCaKeys([readFileSync(join(dataDir, 'dev-ca.pub'), 'utf8').trim(), vault.ssh.caPublicKey]);
  started.add(
    await startBascule({
      name: 'db1.internal.test',
      jwksUrl: `${broker.url}/.well-known/jwks.json`,
      socket: basculeSock,
      auditFile: join(dir, 'bascule-audit.jsonl'),
      logDestination: false,
    }),
    (b) => b.close(),
  );
  started.add(await recordingProxy(proxySock, basculeSock, grants), (p) => p.close());

  return {
    dir,
    dataDir,
    brokerCwd,
    broker,
    alice,
    aliceKeyFile,
    marker,
    tags,
    apis: {
      dev: apis.dev.base,
      oauth_exchange: apis.oauth_exchange.base,
      entra: apis.entra.base,
      vault: apis.vault.base,
      spire: apis.spire.base,
    },
    tokens,
    grants,
    aws,
    windows,
    spire: workload && { workload, audience: spireAudience },
    sshd,
    close: () => started.close(),
  };
}

/** moto and the proxy in front of its STS. */
async function startAws(started: Started): Promise<AwsWorld> {
  const moto = started.add(await startMoto(), (m) => m.stop());
  const sts = started.add(await startAwsProxy(moto.url), (p) => p.close());
  return { moto, sts, target: moto.url, tag: `proof-${newMarker()}` };
}

/** The `aws_sts` entry: STS through the recording proxy, IAM (revocation) at moto itself. */
function awsBackend(aws: AwsWorld, did: string): string {
  return `  - kind: aws_sts
    id: aws
    role_arn: ${ROLE_ARN}
    region: ${MOTO_REGION}
    endpoint: ${aws.sts.url}
    iam_endpoint: ${aws.moto.url}
    source_identity: { "${did}": ${aws.tag} }
    session_policy:
      actions: { read: [s3:GetObject] }
      resources: [{ targets: ["${aws.target}"], arns: ["arn:aws:s3:::${BUCKET}/*"] }]`;
}
