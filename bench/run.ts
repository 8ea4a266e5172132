/**
 * `npm run bench [-- --quick] [-- --json FILE] [-- --only micro,aws,b1,b4,b5,b7,spire,kerberos,b4pg,b1pg]`: what Bastion
 * costs per invocation, each figure beside a baseline measured in the same run (see
 * bench/README.md for what each figure and ratio means).
 *
 * This process is the orchestrator and the load generator; every broker-side measurement
 * runs in a child process pinned to its own core, one phase at a time:
 *   micro — B1's baseline, B2, B3, B7's proof and the cost breakdown (tinybench, bench/micro.ts)
 *   aws   — B3 for aws_sts: minting against the raw AssumeRole, both on moto (bench/aws.ts)
 *   b1    — AC issuance over HTTP with DPoP (autocannon, bench/lib/http-load.ts)
 *   b4    — broker-added latency, open loop; dwell; memory (bench/lifecycle.ts), then the
 *           same on tmpfs, to tell the disk's share from the code's
 *   b5    — SSH end to end vs the OpenSSH client, and bound vs unbound (bench/lib/ssh-e2e.ts)
 *   b7    — HTTP end to end with a DPoP-bound vs a bearer token, against oidc-provider and a
 *           loopback API (bench/lib/http-dpop-e2e.ts)
 *   spire — B3 against a real SPIRE: the spire backend vs the raw Workload API call
 *           (bench/spire.ts); skipped, with a note, where SPIRE is not built
 *   kerberos — B3 against a real MIT KDC: a constrained-delegation ticket by the broker's
 *           client vs MIT's `kvno -U -P` (bench/kerberos.ts); skipped where the KDC is missing
 *   b4pg, b1pg — B4 and B1 on PostgreSQL with one and two broker replicas, B4 against the
 *           commit floor of the same run (bench/lib/pg-bench.ts); skipped without PostgreSQL
 * A phase that fails is reported and the run goes on; the exit code is then 1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import type { AwsResult } from './aws.js';
import type { LifecycleResult } from './lifecycle.js';
import type { MicroResult, MicroTask } from './micro.js';
import { microTaskFigure, opsOf } from './lib/micro-figure.js';
import type { KerberosResult } from './kerberos.js';
import type { SpireResult } from './spire.js';
import { skipWithoutKdc } from '../test/helpers/kdc.js';
import { skipWithoutPostgres } from '../test/helpers/postgres.js';
import { spireSkip } from '../test/helpers/spire.js';
import { placeProcesses, sibling, spawnChild, type Placement } from './lib/child.js';
import { runIssuanceLoad } from './lib/http-load.js';
import { issuanceFigures } from './lib/issuance-figures.js';
import { runB1Pg, runB4Pg } from './lib/pg-bench.js';
import { pgB1Figures, pgB4Figures, pgSettingLine } from './lib/pg-figures.js';
import {
  baselinesList,
  breakdownTable,
  figuresTable,
  type BreakdownRow,
  type Figure,
} from './lib/report.js';
import { runSshEndToEnd } from './lib/ssh-e2e.js';
import { runHttpDpopEndToEnd } from './lib/http-dpop-e2e.js';
import { bindingFigures } from './lib/binding-figures.js';

const PHASES = [
  'micro',
  'aws',
  'b1',
  'b4',
  'b5',
  'b7',
  'spire',
  'kerberos',
  'b4pg',
  'b1pg',
] as const;
type Phase = (typeof PHASES)[number];

const out = (text: string): void => void process.stdout.write(text + '\n');
const MiB = 1024 * 1024;

function usage(code: number): never {
  out(`usage: npm run bench -- [--quick] [--json FILE] [--only ${PHASES.join(',')}]`);
  process.exit(code);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch {
    return usage(2);
  }
})();
if (values.help) usage(0);
const quick = values.quick;
const only = new Set(
  (values.only ?? PHASES.join(','))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
for (const p of only) if (!PHASES.includes(p as Phase)) usage(2);

const placement: Placement = placeProcesses();
// The machine may be shared: say how busy it was, before and after.
const loadBefore = loadavg();
const began = performance.now();
const timings: Record<string, number> = {};
const failures: Record<string, string> = {};

async function phase<T>(name: Phase, work: () => Promise<T>): Promise<T | undefined> {
  if (!only.has(name)) return undefined;
  const start = performance.now();
  process.stderr.write(`bench: ${name}…\n`);
  try {
    return await work();
  } catch (err) {
    failures[name] = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`bench: ${name} failed: ${failures[name]}\n`);
    return undefined;
  } finally {
    timings[name] = (performance.now() - start) / 1000;
  }
}

async function inChild<T>(script: string, args: unknown): Promise<T> {
  const child = spawnChild(sibling(import.meta.url, script), placement.brokerCore);
  try {
    return await child.call<T>('run', args);
  } finally {
    await child.stop();
  }
}

/** RSS of a Node process that loads nothing but the same flags (the tsx loader): the floor. */
function floorRss(): number {
  try {
    const text = execFileSync(
      process.execPath,
      [...process.execArgv, '-e', 'process.stdout.write(String(process.memoryUsage().rss))'],
      { encoding: 'utf8' },
    );
    return Number(text);
  } catch {
    return NaN;
  }
}
const emptyNodeRss = floorRss();

const micro = await phase('micro', () => inChild<MicroResult>('./micro', { quick }));
const awsBench = await phase('aws', () => inChild<AwsResult>('./aws', { quick }));
const load = await phase('b1', () =>
  runIssuanceLoad(placement, { quick, concurrencies: [32, 8, 1] }),
);
const TMPFS = '/dev/shm';
const b4 = await phase('b4', async () => {
  const disk = await inChild<LifecycleResult>('./lifecycle', {
    quick,
    memoryInvocations: quick ? 3000 : 10_000,
  });
  // Attribution: the same lifecycle with the data directory on tmpfs, where fsync returns
  // at once, separates what the disk costs from what the broker's own code costs.
  const tmpfs = existsSync(TMPFS)
    ? await inChild<LifecycleResult>('./lifecycle', {
        quick,
        memoryInvocations: 0,
        dataParent: TMPFS,
      })
    : undefined;
  return { disk, tmpfs };
});
const lifecycle = b4?.disk;
const lifecycleTmpfs = b4?.tmpfs;
const ssh = await phase('b5', () => runSshEndToEnd(placement, { quick }));
const httpDpop = await phase('b7', () => runHttpDpopEndToEnd(placement, { quick }));
const spire = await phase('spire', () => {
  const skip = spireSkip(); // under CI a missing SPIRE throws: the phase fails
  if (skip === false) return inChild<SpireResult>('./spire', { quick });
  process.stderr.write(`bench: spire skipped: ${skip}\n`);
  return Promise.resolve(undefined);
});
const kerberos = await phase('kerberos', () => {
  const skip = skipWithoutKdc(); // under CI a missing KDC throws: the phase fails
  if (skip === false) return inChild<KerberosResult>('./kerberos', { quick });
  process.stderr.write(`bench: kerberos skipped: ${skip}\n`);
  return Promise.resolve(undefined);
});
/** A PostgreSQL phase, or a clear line and nothing where PostgreSQL 15 is not installed. */
function withPostgres<T>(name: Phase, work: () => Promise<T>): Promise<T | undefined> {
  const skip = skipWithoutPostgres(); // under CI a missing PostgreSQL throws: the phase fails
  if (skip === false) return work();
  out(`bench: ${name} skipped: ${skip}`);
  return Promise.resolve(undefined);
}
const b4pg = await phase('b4pg', () => withPostgres('b4pg', () => runB4Pg(placement, { quick })));
const b1pg = await phase('b1pg', () => withPostgres('b1pg', () => runB1Pg(placement, { quick })));

// ---------------------------------------------------------------------------------------
// Figures.

const figures: Figure[] = [];
const task = (name: string): MicroTask | undefined =>
  micro?.tasks[name] ?? awsBench?.tasks?.[name] ?? spire?.tasks[name] ?? kerberos?.tasks[name];

const rawVerifySign = task('raw.verify+sign');
if (load !== undefined) {
  figures.push(
    ...issuanceFigures(load, rawVerifySign, 'AC issuance, HTTP + DPoP + durable SQLite', ''),
  );
}

function microFigure(
  id: string,
  name: string,
  taskName: string,
  baselineName: string,
  baselineTask: string,
  note?: string,
): void {
  const t = task(taskName);
  const b = task(baselineTask);
  if (t === undefined || b === undefined) return;
  figures.push(microTaskFigure(id, name, t, b, baselineName, note));
}
if (micro !== undefined) {
  const rawProofVerify = `raw crypto.verify of a ${micro.sizes.proofBytes}-byte DPoP proof (Ed25519)`;
  microFigure(
    'B1',
    'DPoP proof verify, verifyDpopProof on node:crypto (no replay store)',
    'dpop.verify',
    rawProofVerify,
    'raw.verify.proof',
    'every issuance and invocation verifies one proof',
  );
  microFigure(
    'B1',
    "DPoP proof verify through jose's jwtVerify and thumbprint (the path before 2026-11-30)",
    'dpop.verify.jose',
    rawProofVerify,
    'raw.verify.proof',
    'bench/lib/dpop-jose.ts: WebCrypto import, verify and digest',
  );
  const rawVerify = 'raw crypto.verify of the same AC (Ed25519)';
  microFigure(
    'B2',
    'AC verify, GovernanceService.verify, first use (cache miss)',
    'service.verify.miss',
    rawVerify,
    'raw.verify',
    'the connector path: parse, alg, kid, signature, claims, revocation read from SQLite',
  );
  microFigure(
    'B2',
    'AC verify, same after one key rotation (cache miss)',
    'service.verify.rotated',
    rawVerify,
    'raw.verify',
    'a retired key makes verificationKeys() read SQLite on every verify',
  );
  microFigure(
    'B2',
    'AC verify, verifyAc with in-memory keys and revocation',
    'verifyAc.memory',
    rawVerify,
    'raw.verify',
    'the pure part of the path: no store reads',
  );
  microFigure(
    'B2',
    'AC verify with a cache, repeated AC (hit)',
    'service.verify.hit',
    rawVerify,
    'raw.verify',
    'target ≤ 0.1×: SHA-256 of the token, the key still trusted, exp/nbf, revocation read from SQLite',
  );
  microFigure(
    'B2',
    'AC verify with a cache, hit after one key rotation',
    'service.verify.hit.rotated',
    rawVerify,
    'raw.verify',
    'verificationKeys() reads SQLite for the retired key on every hit too',
  );
  microFigure(
    'B3',
    "SSH certificate, DevBackend.resolve('ssh_cert') + dispose",
    'dev.resolve.ssh_cert',
    `raw Ed25519 keygen + sign of a ${micro.sizes.certBlobBytes}-byte certificate`,
    'raw.keygen+sign',
  );
  microFigure(
    'B3',
    'SSH certificate bound to its invocation (force-command, source-address)',
    'dev.resolve.ssh_cert.bound',
    "the same certificate unbound, DevBackend.resolve('ssh_cert')",
    'dev.resolve.ssh_cert',
    'the cost of binding (#17): two critical options encoded into the signed blob',
  );
  microFigure(
    'B3',
    'SSH certificate through CredentialResolver (checks, revoke, zero-fill)',
    'resolver.resolve+discard',
    'raw Ed25519 keygen + sign',
    'raw.keygen+sign',
    "includes the resolver's key-pair check (the private key rebuilt from its seed through OpenSSL's PKCS#8 decoder, most of the cost) and DevBackend.revoke",
  );
  microFigure(
    'B3',
    "SSH certificate, VaultBackend.resolve('ssh_cert') + dispose, against the Vault double",
    'vault.resolve.ssh_cert',
    'the raw sign call to the same double (HTTP POST, JSON parsed)',
    'raw.vault.sign',
    'adds a fresh key pair, the PEM and the certificate checks; the double signs in this process',
  );
  microFigure(
    'B3',
    "identity token, VaultBackend.resolve('oauth') + dispose, against the Vault double",
    'vault.resolve.oauth',
    'the raw identity-token call to the same double (HTTP GET, JSON parsed)',
    'raw.vault.identity',
  );
}

if (awsBench?.tasks !== undefined) {
  const rawAssumeRole = 'raw STS AssumeRole (SDK defaults), same input, same moto';
  microFigure(
    'B3',
    "AWS session, AwsStsBackend.resolve('aws') + dispose (moto)",
    'aws_sts.resolve+dispose',
    rawAssumeRole,
    'raw.assumeRole',
    'session policy, bounded reply, checks, Secrets; moto (Python) on the same core',
  );
  microFigure(
    'B3',
    'AWS session through CredentialResolver, revoked by the role policy (moto)',
    'aws_sts.resolver+revoke',
    rawAssumeRole,
    'raw.assumeRole',
    'adds the IAM PutRolePolicy of the deny-older-sessions policy, a second round trip',
  );
} else if (awsBench !== undefined) {
  out('bench: aws skipped: moto is not installed (scripts/test-all.sh installs it)');
}
if (spire !== undefined) {
  microFigure(
    'B3',
    "JWT-SVID, SpireBackend.resolve('oauth') + dispose, real SPIRE agent",
    'spire.resolve.oauth',
    'the raw FetchJWTSVID call on the same socket (grpc-js)',
    'raw.spire.fetchJwtSvid',
    'adds the reply copied and zeroed, the claims checked, the token into a Secret; both served from the agent cache',
  );
  microFigure(
    'B3',
    "X.509-SVID, SpireBackend.resolve('x509_svid') + dispose, real SPIRE agent",
    'spire.resolve.x509_svid',
    "the raw FetchX509SVID call's first message on the same socket (grpc-js)",
    'raw.spire.fetchX509Svid',
    'adds the chain and bundle parsed, the key checked against the leaf and written as PEM into a Secret',
  );
}

if (kerberos !== undefined) {
  microFigure(
    'B3',
    "Kerberos service ticket, KerberosBackend.resolve('kerberos') + dispose (AS + S4U2Self + S4U2Proxy), real MIT KDC",
    'kerberos.resolve',
    "MIT's kvno -U -P to the same KDC and SPN, with a TGT obtained once (2 TGS + process start)",
    'raw.kvno.s4u2proxy',
    'the broker also gets its own TGT at every call (an AS exchange more), by design: nothing is cached between invocations',
  );
}

/** The sweep step with the lowest p99 added, for when no rate meets the threshold. */
function bestStep(l: LifecycleResult): string {
  const best = [...l.sweep].sort((a, b) => a.addedP99 - b.addedP99)[0];
  return best === undefined
    ? ''
    : `; lowest p99 added ${best.addedP99.toFixed(2)} ms (at ${best.rate}/s)`;
}

if (lifecycle !== undefined) {
  const h = lifecycle.headline;
  figures.push({
    id: 'B4',
    name: `broker-added latency, full lifecycle, open loop ${h.rate}/s, backend ${lifecycle.backendLatencyMs} ms`,
    unit: 'ms',
    median: h.addedP50,
    p99: h.addedP99,
    min: h.addedMin,
    max: h.addedMax,
    rounds: h.rounds,
    samples: h.lifecycle.n,
    baseline: {
      name: `the fixed-latency backend alone (resolve + revoke) at ${h.rate}/s, p50; its p99 ${h.backend.p99.toFixed(2)} ms`,
      value: h.backend.median,
      unit: 'ms',
    },
    ratio: h.lifecycle.median / h.backend.median,
    note: `added = percentile(lifecycle) − percentile(backend alone); lifecycle itself p50 ${h.lifecycle.median.toFixed(2)} ms, p99 ${h.lifecycle.p99.toFixed(2)} ms; errors ${h.errors}; the disk just before: write + fsync p50 ${lifecycle.fsyncMs.median.toFixed(2)} ms, p99 ${lifecycle.fsyncMs.p99.toFixed(2)} ms`,
  });
  const sat = lifecycle.sweep.find((s) => s.achieved < s.rate * 0.9);
  figures.push({
    id: 'B4',
    name: 'highest open-loop rate with p99 added < 2 ms',
    unit: 'inv/s',
    median: lifecycle.maxRateUnderThreshold,
    p99: null,
    min: null,
    max: null,
    rounds: 1,
    samples: null,
    baseline: null,
    ratio: null,
    note:
      (lifecycle.maxRateUnderThreshold === null
        ? `p99 added was ≥ 2 ms even at ${lifecycle.sweep[0]?.rate ?? '?'}/s`
        : `first failing rate ${lifecycle.firstFailingRate ?? 'none up to the sweep limit'}/s`) +
      bestStep(lifecycle) +
      (sat === undefined ? '' : `; saturates (completes < 90% of the rate) at ${sat.rate}/s`),
  });
  if (lifecycleTmpfs !== undefined) {
    const t = lifecycleTmpfs.headline;
    figures.push({
      id: 'B4',
      name: `the same on tmpfs (no fsync cost; attribution only), ${t.rate}/s`,
      unit: 'ms',
      median: t.addedP50,
      p99: t.addedP99,
      min: t.addedMin,
      max: t.addedMax,
      rounds: t.rounds,
      samples: t.lifecycle.n,
      baseline: {
        name: `the backend alone at ${t.rate}/s, p50`,
        value: t.backend.median,
        unit: 'ms',
      },
      ratio: t.lifecycle.median / t.backend.median,
      note: `data directory on ${TMPFS}: what the broker's own code adds, without the disk; not a deployment configuration`,
    });
    const tsat = lifecycleTmpfs.sweep.find((x) => x.achieved < x.rate * 0.9);
    figures.push({
      id: 'B4',
      name: 'highest rate with p99 added < 2 ms, on tmpfs (attribution only)',
      unit: 'inv/s',
      median: lifecycleTmpfs.maxRateUnderThreshold,
      p99: null,
      min: null,
      max: null,
      rounds: 1,
      samples: null,
      baseline: null,
      ratio: null,
      note:
        (lifecycleTmpfs.maxRateUnderThreshold === null
          ? `p99 added was ≥ 2 ms even at ${lifecycleTmpfs.sweep[0]?.rate ?? '?'}/s`
          : `first failing rate ${lifecycleTmpfs.firstFailingRate ?? 'none up to the sweep limit'}/s`) +
        bestStep(lifecycleTmpfs) +
        (tsat === undefined ? '' : `; saturates at ${tsat.rate}/s`),
    });
  }
  figures.push({
    id: 'B6',
    name: `credential dwell (issue → zero-fill) in B4 at ${h.rate}/s`,
    unit: 'ms',
    median: lifecycle.dwellMs.median,
    p99: lifecycle.dwellMs.p99,
    min: lifecycle.dwellMs.min,
    max: lifecycle.dwellMs.max,
    rounds: h.rounds,
    samples: lifecycle.dwellMs.n,
    baseline: null,
    ratio: null,
    note: `the transport does nothing, so this is broker time alone (audit credential_issue, run, revoke); credentials not zero-filled afterwards: ${lifecycle.liveCredentialsAfter}`,
  });
  const m = lifecycle.memory;
  figures.push({
    id: 'MEM',
    name: 'broker RSS, peak during B4',
    unit: 'MiB',
    median: m.peakRssDuringB4Bytes / MiB,
    p99: null,
    min: null,
    max: null,
    rounds: 1,
    samples: null,
    baseline: {
      name: 'RSS of the same broker, idle after warm-up',
      value: m.idleRssBytes / MiB,
      unit: 'MiB',
    },
    ratio: m.peakRssDuringB4Bytes / m.idleRssBytes,
    note: `the peak includes the sweep's last, overloaded step (thousands of invocations queued); at a steady ${lifecycle.headline.rate}/s the peak was ${(m.peakRssHeadlineBytes / MiB).toFixed(1)} MiB; process maxRSS over its whole life ${(m.maxRssLifetimeBytes / MiB).toFixed(1)} MiB; an empty Node process with the same flags (tsx loader) is ${(emptyNodeRss / MiB).toFixed(1)} MiB of it`,
  });
  const first = m.after[0];
  const last = m.after[m.after.length - 1];
  if (first !== undefined && last !== undefined) {
    figures.push({
      id: 'MEM',
      name: `broker RSS after ${last.invocations.toLocaleString('en-US')} more invocations`,
      unit: 'MiB',
      median: last.rssBytes / MiB,
      p99: null,
      min: null,
      max: null,
      rounds: 1,
      samples: null,
      baseline: {
        name: `RSS after ${first.invocations.toLocaleString('en-US')} more invocations`,
        value: first.rssBytes / MiB,
        unit: 'MiB',
      },
      ratio: last.rssBytes / first.rssBytes,
      note: `counted from the start of the memory phase, when the broker had already run ${m.invokedBefore.toLocaleString('en-US')} invocations (warm-up, B4); after full GC${m.gcExposed ? '' : ' (gc not exposed: run with --expose-gc)'}; heap used ${(first.heapUsedBytes / MiB).toFixed(1)} → ${(last.heapUsedBytes / MiB).toFixed(1)} MiB`,
    });
  }
}

if (ssh !== undefined) {
  if ('skipped' in ssh) {
    figures.push({
      id: 'B5',
      name: 'SSH exec true end to end',
      unit: 'ms',
      median: null,
      p99: null,
      min: null,
      max: null,
      rounds: null,
      samples: null,
      baseline: null,
      ratio: null,
      note: `skipped: ${ssh.skipped}`,
    });
  } else {
    figures.push({
      id: 'B5',
      name: 'SSH `exec true` through Bastion (POST /connectors/ssh/invoke)',
      unit: 'ms',
      median: ssh.bastionMs.median,
      p99: ssh.bastionMs.p99,
      min: ssh.bastionMs.min,
      max: ssh.bastionMs.max,
      rounds: 1,
      samples: ssh.pairs,
      baseline: {
        name: `the OpenSSH client (${ssh.sshVersion}, default kex) with a static key + certificate against the same sshd, interleaved; its p99 ${ssh.opensshMs.p99.toFixed(1)} ms, min ${ssh.opensshMs.min.toFixed(1)} ms`,
        value: ssh.opensshMs.median,
        unit: 'ms',
      },
      ratio: ssh.ratioMedian,
      ratioP99: ssh.ratioP99,
    });
    figures.push({
      id: 'B5',
      name: 'the same, against the OpenSSH client limited to curve25519 (the kex ssh2 uses)',
      unit: 'ms',
      median: ssh.bastionMs.median,
      p99: ssh.bastionMs.p99,
      min: ssh.bastionMs.min,
      max: ssh.bastionMs.max,
      rounds: 1,
      samples: ssh.pairs,
      baseline: {
        name: `ssh -o KexAlgorithms=curve25519-sha256@libssh.org,curve25519-sha256, interleaved; its p99 ${ssh.opensshSameKexMs.p99.toFixed(1)} ms, min ${ssh.opensshSameKexMs.min.toFixed(1)} ms`,
        value: ssh.opensshSameKexMs.median,
        unit: 'ms',
      },
      ratio: ssh.ratioMedianSameKex,
      ratioP99: ssh.ratioP99SameKex,
      note: 'the fair comparison of what Bastion adds: same sshd, same key exchange',
    });
    figures.push({
      id: 'B6',
      name: 'credential dwell (issue → zero-fill) in B5',
      unit: 'ms',
      median: ssh.dwellMs.median,
      p99: ssh.dwellMs.p99,
      min: ssh.dwellMs.min,
      max: ssh.dwellMs.max,
      rounds: 1,
      samples: ssh.dwellMs.n,
      baseline: {
        name: "the SSH operation's own duration as the connector reports it (connect, auth, exec), p50",
        value: ssh.operationMs.median,
        unit: 'ms',
      },
      ratio: ssh.dwellMs.median / ssh.operationMs.median,
      note: `credentials not zero-filled afterwards: ${ssh.liveCredentialsAfter}`,
    });
  }
}

// The cost of binding (#17): B5 bound vs unbound, B7's proof per request and end to end.
figures.push(...bindingFigures(ssh, httpDpop, micro));

if (b4pg !== undefined) figures.push(...pgB4Figures(b4pg));
if (b1pg !== undefined) figures.push(...pgB1Figures(b1pg));

// ---------------------------------------------------------------------------------------
// Breakdown: the steps an issuance and an invocation are made of, each on one core.

const BREAKDOWN: [string, string][] = [
  ['raw.verify', 'Ed25519 verify of an AC (crypto.verify)'],
  ['raw.verify+sign', 'Ed25519 verify + sign (B1 baseline)'],
  ['raw.verify.proof', 'Ed25519 verify of a DPoP proof (crypto.verify)'],
  ['dpop.verify', 'verifyDpopProof without the replay store (node:crypto)'],
  ['dpop.verify.jose', 'the same through jose (before 2026-11-30; bench/lib/dpop-jose.ts)'],
  ['raw.fsync', 'write 400 B + fsync on the data directory (the disk floor)'],
  [
    'store.rememberProof',
    'DPoP replay cache insert: one SQLite commit (NORMAL; synced by the next FULL)',
  ],
  ['store.isRevoked', 'revocation read (SQLite)'],
  ['audit.append', 'one audit entry: SQLite commit + sink write + fsync'],
  ['service.verify.miss', 'GovernanceService.verify, first use (cache miss)'],
  ['service.verify.rotated', 'GovernanceService.verify, cache miss, one retired key'],
  ['service.verify.hit', 'GovernanceService.verify, repeated AC (cache hit)'],
  ['service.verify.hit.rotated', 'GovernanceService.verify, cache hit, one retired key'],
  ['verifyAc.memory', 'verifyAc, in-memory keys and revocation'],
  ['service.authorize', 'GovernanceService.authorize (no HTTP, no DPoP)'],
  ['raw.keygen+sign', 'Ed25519 keygen + sign (B3 baseline)'],
  ['openssh.rawEd25519PublicKey', 'rawEd25519PublicKey() as used by the dev backend'],
  ['jwk.rawPublicKey', 'the same 32 bytes via JWK export'],
  ['dev.resolve.ssh_cert', "DevBackend.resolve('ssh_cert') + dispose"],
  ['dev.resolve.ssh_cert.bound', "DevBackend.resolve('ssh_cert') bound to a command + dispose"],
  ['raw.sign.proof', 'Ed25519 sign of an outbound DPoP proof (crypto.sign; B7 baseline)'],
  ['dpop.sign.request', "the HTTP connector's DPoP hook for one request (dpopSigner)"],
  ['dpop.sign.keyFromSeed', 'its KeyObject rebuilt from the seed (PKCS#8 DER), per proof'],
  ['dpop.sign.nodeCrypto', 'the same proof signed with node:crypto, sync (bench/lib/dpop.ts)'],
  ['resolver.resolve+discard', 'CredentialResolver.resolve + discard (ssh_cert)'],
  ['raw.vault.sign', 'raw HTTP sign call to the Vault double (B3 vault baseline)'],
  ['vault.resolve.ssh_cert', "VaultBackend.resolve('ssh_cert') + dispose (Vault double)"],
  ['raw.vault.identity', 'raw HTTP identity-token call to the Vault double'],
  ['vault.resolve.oauth', "VaultBackend.resolve('oauth') + dispose (Vault double)"],
  ['raw.spire.fetchJwtSvid', 'raw FetchJWTSVID call to a real SPIRE agent (B3 spire baseline)'],
  ['spire.resolve.oauth', "SpireBackend.resolve('oauth') + dispose (real SPIRE)"],
  ['raw.spire.fetchX509Svid', 'raw FetchX509SVID call, first message (real SPIRE)'],
  ['spire.resolve.x509_svid', "SpireBackend.resolve('x509_svid') + dispose (real SPIRE)"],
];
const breakdown: BreakdownRow[] = [];
for (const [name, what] of BREAKDOWN) {
  const t = task(name);
  if (t === undefined) continue;
  breakdown.push({
    name,
    what,
    medianUs: t.latencyUs.median,
    p99Us: t.latencyUs.p99,
    opsPerSecond: opsOf(t),
  });
}

// ---------------------------------------------------------------------------------------
// Output.

function sqliteVersion(): string {
  const db = new Database(':memory:');
  try {
    return String(db.prepare('select sqlite_version()').pluck().get());
  } finally {
    db.close();
  }
}

const totalSeconds = (performance.now() - began) / 1000;
const meta = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  phases: [...only],
  node: process.versions.node,
  openssl: process.versions.openssl,
  v8: process.versions.v8,
  uv: process.versions.uv,
  sqlite: sqliteVersion(),
  os: `${process.platform} ${release()}`,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: placement.cores,
  placement: placement.note,
  dataDir: tmpdir(),
  loadAverage: { before: loadBefore, after: loadavg() },
  emptyNodeRssBytes: emptyNodeRss,
  seconds: { ...timings, total: totalSeconds },
};

out('');
out(`Bastion benchmark — ${meta.mode} run, ${meta.date}`);
out(
  `Node ${meta.node}, OpenSSL ${meta.openssl}, SQLite ${meta.sqlite}, ${meta.os}, ${meta.cpu}, ${meta.cores} cores; ${meta.placement}`,
);
const la = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
out(
  `Load average (1/5/15 min) before ${la(meta.loadAverage.before)}, after ${la(meta.loadAverage.after)}`,
);
out('');
out(figuresTable(figures));
out('');
out(
  'Ratio: how many times its baseline the figure costs (time ÷ time, or baseline throughput ÷ throughput); 1.0 is the floor, larger is worse.',
);
out(baselinesList(figures));
if (b4pg !== undefined) out(pgSettingLine('b4pg', b4pg.setting));
if (b1pg !== undefined) out(pgSettingLine('b1pg', b1pg.setting));
function sweepTable(l: LifecycleResult, where: string): void {
  out('');
  out(
    `B4 rate sweep, data directory on ${where} (open loop, ${l.stepSeconds} s per step, backend ${l.backendLatencyMs} ms; write + fsync p50 ${l.fsyncMs.median.toFixed(2)} ms before the run):`,
  );
  out('');
  out(
    '| rate/s | achieved/s | lifecycle p50 ms | lifecycle p99 ms | backend p50 | backend p99 | added p50 | added p99 | < 2 ms |',
  );
  out(
    '|-------:|-----------:|-----------------:|-----------------:|------------:|------------:|----------:|----------:|:------:|',
  );
  for (const s of l.sweep) {
    out(
      `| ${s.rate} | ${Math.round(s.achieved)} | ${s.lifecycle.median.toFixed(2)} | ${s.lifecycle.p99.toFixed(2)} | ${s.backend.median.toFixed(2)} | ${s.backend.p99.toFixed(2)} | ${s.addedP50.toFixed(2)} | ${s.addedP99.toFixed(2)} | ${s.pass ? 'yes' : 'no'} |`,
    );
  }
}
if (lifecycle !== undefined) sweepTable(lifecycle, `disk (${tmpdir()})`);
if (lifecycleTmpfs !== undefined) sweepTable(lifecycleTmpfs, `tmpfs (${TMPFS}), attribution only`);
if (breakdown.length > 0) {
  out('');
  out('Breakdown (tinybench, one core, pooled over rounds):');
  out('');
  out(breakdownTable(breakdown));
}
out('');
out(
  `Phase times (s): ${Object.entries(meta.seconds)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ')}`,
);

if (values.json !== undefined) {
  const document = {
    meta,
    figures,
    breakdown,
    details: {
      micro,
      aws: awsBench,
      b1: load,
      b4: lifecycle,
      b4Tmpfs: lifecycleTmpfs,
      b5: ssh,
      b7: httpDpop,
      spire,
      b4pg,
      b1pg,
    },
    failures,
  };
  writeFileSync(values.json, JSON.stringify(document, null, 2) + '\n');
  out(`JSON written to ${values.json}`);
}
if (Object.keys(failures).length > 0) {
  out(`Failed phases: ${Object.keys(failures).join(', ')}`);
  process.exitCode = 1;
}
