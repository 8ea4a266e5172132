/**
 * Child process (pinned to one core): the CPU-bound figures, timed with tinybench.
 * - B1's baseline: one Ed25519 verify (a DPoP proof) + one Ed25519 sign (an AC);
 * - B2: the connector's AC verify path (`GovernanceService.verify`), on a first use (a cache
 *   miss) and on a repeated AC (a hit of the verified-AC cache), and its parts, vs a raw
 *   `crypto.verify` of the same token;
 * - B3: the dev backend's `resolve('ssh_cert')` vs a raw Ed25519 keygen + sign; the vault
 *   backend's `resolve` (ssh_cert, identity token) against the Vault double vs the raw HTTP
 *   call to the same double endpoint, in the same run;
 * - a breakdown of the pieces every issuance and invocation runs (durable SQLite commits,
 *   audit appends, DPoP verification), which is the evidence for the hot-spot list;
 * - DPoP proof verification on node:crypto and, as it was before, through jose, against a
 *   raw `crypto.verify` of the same proof;
 * - B7: the DPoP proof the HTTP connector signs per request for a DPoP-bound token, against
 *   a raw `crypto.sign` of the same signing input (bench/lib/dpop-sign-tasks.ts).
 * Tasks run interleaved, one round after another, so slow drift on a shared VM affects
 * every task alike; per-op latencies are pooled across rounds.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { DevBackend } from '../src/backends/dev/dev-backend.js';
import { VaultBackend } from '../src/backends/vault/vault-backend.js';
import { Secret } from '../src/credentials/secret.js';
import { ed25519PublicKeyLine } from '../src/ssh/ed25519.js';
import { startVaultDouble, type VaultDouble } from '../test/peers/vault-double/index.js';
import { CredentialResolver } from '../src/credentials/resolver.js';
import type { CredentialBinding } from '../src/credentials/binding.js';
import type { AcContext } from '../src/credentials/types.js';
import { disposeCredential } from '../src/credentials/types.js';
import { verifyAc } from '../src/governance/ac.js';
import { VerifiedAcCache } from '../src/governance/ac-cache.js';
import { GovernanceService } from '../src/governance/service.js';
import { systemClock } from '../src/base/clock.js';
import { generatePrincipalKey, thumbprint } from '../src/governance/did-key.js';
import { verifyDpopProof, type VerifiedProof } from '../src/governance/dpop.js';
import { BrokerKeyring } from '../src/governance/keyring.js';
import { rawEd25519PublicKey } from '../src/ssh/ed25519.js';
import { silentLogger } from '../src/base/logger.js';
import { serveParent } from './lib/child.js';
import { authorizeBody, BENCH_TARGET, startBenchBroker, type BenchBroker } from './lib/broker.js';
import { ProofSigner } from './lib/dpop.js';
import { dpopSignTasks } from './lib/dpop-sign-tasks.js';
import { verifyDpopProofWithJose } from './lib/dpop-jose.js';
import { measure, type MicroTask, type Task } from './lib/measure.js';

/** What an invocation of `id` binds its certificate to (#17): its command and the broker. */
const BENCH_BINDING: CredentialBinding = { sshCommand: 'id', sshSourceAddresses: ['127.0.0.1/32'] };

export type { MicroTask };

export interface MicroResult {
  readonly tasks: Record<string, MicroTask>;
  /** Sizes of the signed inputs, so the README can say what the baselines sign. */
  readonly sizes: {
    acBytes: number;
    proofBytes: number;
    certBlobBytes: number;
    /** Signing input of a proof the HTTP connector makes (B7). */
    outboundProofBytes: number;
  };
}

function splitJws(jws: string): { input: Buffer; signature: Buffer } {
  const [h = '', p = '', s = ''] = jws.split('.');
  return { input: Buffer.from(`${h}.${p}`), signature: Buffer.from(s, 'base64url') };
}

let broker: BenchBroker | undefined;
let vault: VaultDouble | undefined;

/** The raw call to the issuer: one JSON request over node:http, its reply parsed. */
function rawVaultCall(url: string, token: string, body?: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: body === undefined ? 'GET' : 'POST',
        agent: false,
        headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString()) as unknown));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function run(args: unknown): Promise<MicroResult> {
  const { quick } = args as { quick: boolean };
  const rounds = quick ? 3 : 5;
  const timeMs = quick ? 200 : 1000;

  const principal = generatePrincipalKey();
  const signer = new ProofSigner(principal);
  broker = await startBenchBroker({ principals: [principal.did], logLevel: 'warn' });
  const { server } = broker;
  const caller: VerifiedProof = {
    did: principal.did,
    jkt: await thumbprint(principal.publicJwk),
    jwk: principal.publicJwk,
    jti: 'bench-caller',
  };
  const issued = await server.service.authorize(caller, authorizeBody('noop'));
  if (issued.status !== 'active') throw new Error('bench accord did not issue an AC');
  const token = issued.ac;

  // Raw material for the baselines: the same bytes Bastion signs and verifies.
  const brokerKey = server.keyring.signer.privateKey;
  const brokerPublic = createPublicKey(brokerKey);
  const principalPublic = createPublicKey(principal.privateKey);
  const ac = splitJws(token);
  const url = `${server.url}/governance/authorize/`;
  const sampleProof = signer.proof('POST', url);
  const proof = splitJws(sampleProof);

  // B3 material: an ssh_cert through the dev backend, and through the resolver.
  const dev = await DevBackend.create({ id: 'bench-dev' });
  const resolver = new CredentialResolver({ logger: silentLogger });
  resolver.register(dev);
  const acContext: AcContext = {
    ac_id: issued.ac_id,
    principal_did: principal.did,
    capability_mask: issued.capability_mask,
    capabilities: ['exec'],
    accord_template: 'bench',
    connector: 'ssh',
    target: BENCH_TARGET,
    expires_at: Math.floor(Date.now() / 1000) + 900,
    ssh_principals: ['bench'],
  };
  const sampleCert = await dev.resolve('ssh_cert', BENCH_TARGET, acContext);
  const certBlob = Buffer.from(sampleCert.certificate.split(' ')[1] ?? '', 'base64');
  disposeCredential(sampleCert);
  const caKey: KeyObject = generateKeyPairSync('ed25519').privateKey;

  // B3 against the Vault double, in this process: the backend, and the raw call it makes.
  vault = await startVaultDouble({
    sshRoles: { bastion: { allowedUsers: ['bench'] } },
    identityRoles: { api: { ttl: 300 } },
  });
  const vaultApi = 'https://api.bench.test';
  const vaultBackend = new VaultBackend({
    address: vault.address,
    login: {
      method: 'approle',
      mount: 'approle',
      roleId: vault.roleId,
      secretId: Secret.fromString(vault.secretId),
    },
    ssh: { mount: 'ssh-client-signer', role: 'bastion' },
    tokens: new Map([[vaultApi, { identityRole: 'api' }]]),
  });
  const vaultAc: AcContext = { ...acContext, target: vaultApi, connector: 'http' };
  const login = (await rawVaultCall(
    `${vault.address}/v1/auth/approle/login`,
    '',
    JSON.stringify({ role_id: vault.roleId, secret_id: vault.secretId }),
  )) as { auth: { client_token: string } };
  const rawToken = login.auth.client_token;
  const rawSignBody = JSON.stringify({
    public_key: ed25519PublicKeyLine(rawEd25519PublicKey(caKey), ''),
    valid_principals: 'bench',
    cert_type: 'user',
    key_id: 'bench',
    ttl: '300s',
  });

  // B7: the proof the HTTP connector signs for every request with a DPoP-bound token.
  const outbound = await dpopSignTasks();

  const keys = new Map([[server.keyring.activeKid, brokerPublic]]);
  const notRevoked = (): Promise<boolean> => Promise.resolve(false);
  // The same service with a cache that holds nothing: every verify is a first use (a miss).
  const uncached = new GovernanceService({
    store: server.store,
    keyring: server.keyring,
    clock: systemClock,
    logger: silentLogger,
    audit: server.audit,
    settings: server.service.settings,
    acCache: new VerifiedAcCache({ maxEntries: 0 }),
  });
  let seq = 0;
  // The proof verified by the breakdown task; renewed each round to stay inside iat skew.
  let freshProof = sampleProof;

  // The floor under every durable write: append one audit-sized line and fsync, on the
  // filesystem the broker's data directory is on.
  const probe = openSync(join(broker.dataDir, 'fsync-probe'), 'a', 0o600);
  const line = Buffer.from('x'.repeat(400) + '\n');

  const tasks: Record<string, Task> = {
    ...outbound.tasks,
    // B1 baseline: what an issuance cannot avoid — check the caller's proof, sign the AC.
    'raw.verify+sign': () => {
      verify(null, proof.input, principalPublic, proof.signature);
      sign(null, ac.input, brokerKey);
    },
    // B2 baseline and figures.
    'raw.verify': () => verify(null, ac.input, brokerPublic, ac.signature),
    'service.verify.miss': () => uncached.verify(token),
    // The broker's own service, the same AC again: a cache hit (key, times, revocation read).
    'service.verify.hit': () => server.service.verify(token),
    'verifyAc.memory': () =>
      verifyAc(token, {
        keys,
        issuer: server.service.settings.issuer,
        audience: server.service.settings.audience,
        now: Date.now(),
        skewMs: 30_000,
        isRevoked: notRevoked,
      }),
    // B3 baseline and figures.
    'raw.keygen+sign': () => {
      generateKeyPairSync('ed25519');
      sign(null, certBlob, caKey);
    },
    'dev.resolve.ssh_cert': async () => {
      disposeCredential(await dev.resolve('ssh_cert', BENCH_TARGET, acContext));
    },
    // The same certificate bound to its invocation (#17): force-command and source-address.
    'dev.resolve.ssh_cert.bound': async () => {
      disposeCredential(
        await dev.resolve('ssh_cert', BENCH_TARGET, acContext, undefined, BENCH_BINDING),
      );
    },
    'resolver.resolve+discard': async () => {
      await resolver.discard(await resolver.resolve('ssh_cert', BENCH_TARGET, acContext));
    },
    // B3 against the Vault double: the raw HTTP call to the issuer, and the backend.
    'raw.vault.sign': () =>
      rawVaultCall(`${vault?.address}/v1/ssh-client-signer/sign/bastion`, rawToken, rawSignBody),
    'vault.resolve.ssh_cert': async () => {
      disposeCredential(await vaultBackend.resolve('ssh_cert', BENCH_TARGET, acContext));
    },
    'raw.vault.identity': () =>
      rawVaultCall(`${vault?.address}/v1/identity/oidc/token/api`, rawToken),
    'vault.resolve.oauth': async () => {
      disposeCredential(await vaultBackend.resolve('oauth', vaultApi, vaultAc));
    },
    // Breakdown of issuance and invocation.
    'service.authorize': () => server.service.authorize(caller, authorizeBody('noop')),
    'dpop.verify': () =>
      verifyDpopProof(freshProof, {
        method: 'POST',
        url,
        now: Date.now(),
        skewMs: 30_000,
        remember: () => Promise.resolve(true),
      }),
    // The same proof through jose (the path before 2026-11-30), and the signature alone.
    'dpop.verify.jose': () => verifyDpopProofWithJose(freshProof, url, Date.now()),
    'raw.verify.proof': () => verify(null, proof.input, principalPublic, proof.signature),
    'store.rememberProof': () =>
      server.store.rememberProof(caller.jkt, `bench-jti-${seq++}`, Date.now() + 60_000),
    'store.isRevoked': () => server.store.isRevoked(issued.ac_id),
    'raw.fsync': () => {
      writeSync(probe, line);
      fsyncSync(probe);
    },
    // The dev backend derives two raw public keys per certificate through a DER export;
    // the JWK export gives the same 32 bytes (evidence for the hot-spot list).
    'openssh.rawEd25519PublicKey': () => rawEd25519PublicKey(caKey),
    'jwk.rawPublicKey': () =>
      Buffer.from(createPublicKey(caKey).export({ format: 'jwk' }).x ?? '', 'base64url'),
    'audit.append': () =>
      server.audit.append({
        type: 'invoke_start',
        actor: principal.did,
        principal: principal.did,
        ac_id: issued.ac_id,
        invocation_id: `bench-${seq++}`,
        connector: 'noop',
        target: BENCH_TARGET,
        detail: { command: 'true' },
      }),
  };
  const results = await measure(tasks, {
    rounds,
    timeMs,
    beforeRound: () => {
      freshProof = signer.proof('POST', url);
      return Promise.resolve();
    },
  });

  closeSync(probe);
  outbound.close();
  await vaultBackend.close();

  // After one key rotation the keyring holds a retired key, and every verify asks the
  // store when that key's last AC expires: the cost of `verificationKeys()` per call.
  await BrokerKeyring.rotate(broker.dataDir);
  server.keyring.reload();
  const rotatedToken = await server.service.authorize(caller, authorizeBody('noop'));
  if (rotatedToken.status !== 'active') throw new Error('no AC after rotation');
  const rotated = await measure(
    {
      'service.verify.rotated': () => uncached.verify(rotatedToken.ac),
      'service.verify.hit.rotated': () => server.service.verify(rotatedToken.ac),
    },
    { rounds, timeMs },
  );

  return {
    tasks: { ...results, ...rotated },
    sizes: {
      acBytes: ac.input.byteLength,
      proofBytes: proof.input.byteLength,
      certBlobBytes: certBlob.byteLength,
      outboundProofBytes: outbound.proofBytes,
    },
  };
}

serveParent({ run }, async () => {
  await broker?.close();
  await vault?.close();
});
