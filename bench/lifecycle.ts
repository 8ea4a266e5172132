/**
 * Child process (pinned to one core): B4 (broker-added latency of the full invocation
 * lifecycle), B6 in B4 (credential dwell time) and the memory figures.
 *
 * The lifecycle is `SessionConnector.invoke` itself, built from the running broker's own
 * pieces — `GovernanceService.verify`, the durable SQLite store (DPoP replay cache), the
 * durable audit log (SQLite + fsynced sink) — with a `CredentialResolver` whose only backend
 * answers after a fixed latency, and a connector whose transport does nothing. HTTP is left
 * out on purpose: B1 and B5 measure it; here the question is what governing costs.
 *
 * Open loop: invocation i is due at start + i/rate whatever happened to the ones before
 * it, and its latency is measured from when it was due, so a broker that falls behind is
 * charged for the queue it builds (no coordinated omission). The backend alone is measured
 * with the same scheduler at the same rate, and "added" is the difference of the two
 * distributions' percentiles: timer granularity and the backend's own jitter cancel out.
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrincipalKey } from '../src/governance/did-key.js';
import { serveParent } from './lib/child.js';
import { startBenchBroker, type BenchBroker } from './lib/broker.js';
import { BACKEND_LATENCY_MS, lifecycleRig } from './lib/lifecycle-rig.js';
import { closedLoop, openLoop } from './lib/open-loop.js';
import { summarize, type Summary } from './lib/stats.js';

export interface RateStep {
  readonly rate: number;
  /** The invocation's latency from when it was due, ms. */
  readonly lifecycle: Summary;
  /** The backend's own resolve + revoke at the same rate, ms. */
  readonly backend: Summary;
  readonly addedP50: number;
  readonly addedP99: number;
  readonly errors: number;
  /** Invocations completed per second of the step (falls below `rate` when saturated). */
  readonly achieved: number;
  readonly pass: boolean;
}

export interface LifecycleResult {
  readonly backendLatencyMs: number;
  readonly stepSeconds: number;
  readonly sweep: RateStep[];
  /** Highest rate whose p99 added stayed under the threshold, every lower rate passing too. */
  readonly maxRateUnderThreshold: number | null;
  readonly firstFailingRate: number | null;
  readonly headline: {
    rate: number;
    rounds: number;
    lifecycle: Summary;
    backend: Summary;
    addedP50: number;
    addedP99: number;
    addedMin: number;
    addedMax: number;
    errors: number;
  };
  readonly dwellMs: Summary;
  readonly liveCredentialsAfter: number;
  /** write + fsync of one line on the data directory, sampled just before the headline, ms. */
  readonly fsyncMs: Summary;
  readonly memory: {
    idleRssBytes: number;
    /** Over the headline rate and the sweep, which ends by overloading the broker. */
    peakRssDuringB4Bytes: number;
    /** Over the headline rate only (steady load). */
    peakRssHeadlineBytes: number;
    maxRssLifetimeBytes: number;
    after: { invocations: number; rssBytes: number; heapUsedBytes: number }[];
    gcExposed: boolean;
    /** Invocations the broker had already run (warm-up and B4) when the memory phase began. */
    invokedBefore: number;
  };
}

const THRESHOLD_MS = 2;
const HEADLINE_RATE = 100;

function settle(): { rssBytes: number; heapUsedBytes: number } {
  // Two passes: the first may only finalize what the second frees.
  globalThis.gc?.();
  globalThis.gc?.();
  const usage = process.memoryUsage();
  return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed };
}

/** The disk under the data directory: `n` appends of an audit-sized line, each fsynced. */
function fsyncProbe(dir: string, n: number): Summary {
  const fd = openSync(join(dir, 'fsync-probe'), 'a', 0o600);
  const line = Buffer.from('x'.repeat(400) + '\n');
  const samples: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const start = performance.now();
      writeSync(fd, line);
      fsyncSync(fd);
      samples.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
  }
  return summarize(samples);
}

let broker: BenchBroker | undefined;

async function run(args: unknown): Promise<LifecycleResult> {
  const { quick, memoryInvocations, dataParent } = args as {
    quick: boolean;
    /** 0: no memory phase. */
    memoryInvocations: number;
    /** Where the broker's data directory goes (tmpfs for the attribution run). */
    dataParent?: string;
  };
  const stepSeconds = quick ? 1 : 3;
  const headlineRounds = quick ? 2 : 3;

  const principal = generatePrincipalKey();
  broker = await startBenchBroker({ principals: [principal.did], parentDir: dataParent });
  const { dwell, invoke, backendCall, proof } = await lifecycleRig(broker.server, principal);

  // Warm-up: JIT, SQLite page cache, the audit sink's file.
  await closedLoop(300, 4, () => invoke(proof()));
  const idle = settle();

  // Peak RSS while B4 runs, sampled every 10 ms (maxRSS covers the whole process life).
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);

  const step = async (rate: number, seconds: number) => {
    const n = Math.max(20, Math.round(rate * seconds));
    const base = await openLoop(rate, n, backendCall);
    // Proofs are signed before the clock starts (the client's work, not the broker's) and
    // used within seconds, well inside the 30 s iat window.
    const proofs = Array.from({ length: n }, proof);
    const life = await openLoop(rate, n, (i) => invoke(proofs[i] ?? ''));
    return { base, life, n };
  };

  // Order matters on a VM disk whose fsync slows down under sustained load: the headline
  // rate runs first, the sweep (which ends by saturating the broker) next, and the memory
  // phase (the longest burst of writes) last. The disk's own fsync latency is sampled just
  // before the headline, so the figure can be read against it.
  const fsyncMs = fsyncProbe(broker.dataDir, 200);

  // The headline rate, several rounds pooled; the dwell samples come from these rounds.
  dwell.clear();
  const lifeAll: number[] = [];
  const baseAll: number[] = [];
  let headlineErrors = 0;
  for (let round = 0; round < headlineRounds; round++) {
    const { base, life } = await step(HEADLINE_RATE, stepSeconds * 1.5);
    lifeAll.push(...life.latencies);
    baseAll.push(...base.latencies);
    headlineErrors += life.errors;
  }
  const dwellMs = summarize(dwell.samples);
  const peakAtHeadline = peak;
  const lifecycle = summarize(lifeAll);
  const backend = summarize(baseAll);

  const sweep: RateStep[] = [];
  const measureRate = async (rate: number): Promise<RateStep> => {
    const { base, life, n } = await step(rate, stepSeconds);
    const lifecycleAt = summarize(life.latencies);
    const backendAt = summarize(base.latencies);
    const addedP99 = lifecycleAt.p99 - backendAt.p99;
    const result: RateStep = {
      rate,
      lifecycle: lifecycleAt,
      backend: backendAt,
      addedP50: lifecycleAt.median - backendAt.median,
      addedP99,
      errors: life.errors,
      achieved: (n - life.errors) / (life.elapsedMs / 1000),
      pass: life.errors === 0 && addedP99 < THRESHOLD_MS,
    };
    sweep.push(result);
    return result;
  };

  // Step the rate up, doubling, until the broker saturates (it cannot keep up); past the
  // threshold the sweep goes on, to show where the knee is.
  let maxPass: number | null = null;
  let firstFail: number | null = null;
  // Quick mode steps by 4× instead of 2×: the same knee, half the steps.
  const rates = quick ? [25, 100, 400, 1600, 3200] : [10, 25, 50, 100, 200, 400, 800, 1600, 3200];
  for (const rate of rates) {
    const r = await measureRate(rate);
    if (r.pass && firstFail === null) maxPass = rate;
    if (!r.pass && firstFail === null) firstFail = rate;
    const saturated = r.achieved < rate * 0.9 || r.lifecycle.p99 > 250 || r.errors > 0;
    if (saturated) break;
  }
  // Narrow the threshold between the last passing and the first failing rate.
  if (maxPass !== null && firstFail !== null) {
    let lo = maxPass;
    let hi = firstFail;
    for (let i = 0; i < (quick ? 1 : 2); i++) {
      const mid = Math.round(Math.sqrt(lo * hi));
      if (mid <= lo || mid >= hi) break;
      const r = await measureRate(mid);
      if (r.pass) lo = mid;
      else hi = mid;
    }
    maxPass = lo;
    firstFail = hi;
  }
  sweep.sort((a, b) => a.rate - b.rate);
  clearInterval(sampler);
  const invokedInB4 = 300 + lifecycle.n + sweep.reduce((sum, r) => sum + r.lifecycle.n, 0);

  // Memory: RSS after 1,000 and after `memoryInvocations` more invocations, each after a
  // full GC (a leak shows as growth between the two).
  const after: LifecycleResult['memory']['after'] = [];
  let done = 0;
  for (const mark of memoryInvocations > 0 ? [1000, memoryInvocations] : []) {
    const errors = await closedLoop(mark - done, 8, () => invoke(proof()));
    if (errors > 0) throw new Error(`${errors} invocations failed in the memory phase`);
    done = mark;
    after.push({ invocations: mark, ...settle() });
  }

  return {
    backendLatencyMs: BACKEND_LATENCY_MS,
    stepSeconds,
    sweep,
    maxRateUnderThreshold: maxPass,
    firstFailingRate: firstFail,
    headline: {
      rate: HEADLINE_RATE,
      rounds: headlineRounds,
      lifecycle,
      backend,
      addedP50: lifecycle.median - backend.median,
      addedP99: lifecycle.p99 - backend.p99,
      addedMin: lifecycle.min - backend.min,
      addedMax: lifecycle.max - backend.max,
      errors: headlineErrors,
    },
    dwellMs,
    liveCredentialsAfter: dwell.live,
    fsyncMs,
    memory: {
      idleRssBytes: idle.rssBytes,
      peakRssDuringB4Bytes: peak,
      peakRssHeadlineBytes: peakAtHeadline,
      maxRssLifetimeBytes: process.resourceUsage().maxRSS * 1024,
      after,
      gcExposed: typeof globalThis.gc === 'function',
      invokedBefore: invokedInB4,
    },
  };
}

serveParent({ run }, async () => {
  await broker?.close();
});
