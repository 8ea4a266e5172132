/**
 * B1: AC issuance over loopback HTTP, driven by autocannon at a fixed concurrency against a
 * broker in a pinned child process. Every request carries its own DPoP proof, signed in
 * autocannon's `setupRequest` hook just before the request is written (a proof is single
 * use and must be fresh). Latencies are taken from autocannon's per-response timings, which
 * are sub-millisecond, rather than its 1 ms-resolution histogram.
 */
import autocannon from 'autocannon';
import { generatePrincipalKey, type PrincipalKey } from '../../src/governance/did-key.js';
import { type Placement, sibling, spawnChild } from './child.js';
import { authorizeBody, type PostgresReplica } from './broker.js';
import { ProofSigner } from './dpop.js';
import { summarize, type Summary } from './stats.js';

export interface LoadRound {
  readonly issuedPerSecond: number;
  readonly latencyMs: Summary;
  readonly non2xx: number;
  readonly errors: number;
  readonly statusCodes: Record<string, number>;
}

export interface LoadResult {
  readonly concurrency: number;
  readonly seconds: number;
  readonly rounds: LoadRound[];
  /** Every 2xx response's latency, pooled over the rounds. */
  readonly latencyMs: Summary;
  readonly issuedPerSecond: Summary;
}

function cannon(
  options: autocannon.Options,
  onLatency: (ms: number) => void,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (err, result) => (err ? reject(err) : resolve(result)));
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status < 300) onLatency(ms);
    });
  });
}

export interface IssuanceReplicas {
  readonly postgres: PostgresReplica;
  /** One broker replica per entry, pinned to that core (undefined: not pinned). */
  readonly cores: readonly (number | undefined)[];
}

/**
 * B1 against one broker (SQLite), or with `replicas` against several on one PostgreSQL
 * database, autocannon dealing its connections to them round-robin; `onReady` runs once
 * the brokers answer, before the load (the phase's own same-run baseline).
 */
export async function runIssuanceLoad(
  placement: Placement,
  options: {
    quick: boolean;
    concurrencies: readonly number[];
    replicas?: IssuanceReplicas;
    onReady?: (brokerUrl: string, endpoint: string, principal: PrincipalKey) => Promise<void>;
  },
): Promise<LoadResult[]> {
  const principal = generatePrincipalKey();
  const signer = new ProofSigner(principal);
  const cores = options.replicas?.cores ?? [placement.brokerCore];
  const postgres = options.replicas?.postgres;
  const script = sibling(import.meta.url, '../broker-child');
  const children = cores.map((core) => spawnChild(script, core));
  try {
    const urls: string[] = [];
    for (const child of children) {
      const started = await child.call<{ url: string }>('b1:start', {
        did: principal.did,
        postgres,
      });
      urls.push(started.url);
    }
    const url = urls.length === 1 ? (urls[0] ?? '') : urls;
    // Replicas behind a balancer: a proof names the balancer's URL, whichever one answers.
    const endpoint = `${postgres?.publicUrl ?? urls[0] ?? ''}/governance/authorize/`;
    const body = JSON.stringify(authorizeBody('noop'));
    const request = (connections: number, seconds: number): autocannon.Options => ({
      url,
      connections,
      duration: seconds,
      timeout: 10,
      requests: [
        {
          method: 'POST',
          path: '/governance/authorize/',
          headers: { 'content-type': 'application/json' },
          body,
          setupRequest: (req) => {
            req.headers = { ...req.headers, dpop: signer.proof('POST', endpoint) };
            return req;
          },
        },
      ],
    });

    // Warm-up: JIT, SQLite page cache, connection setup.
    await cannon(request(4, 1), () => undefined);
    await options.onReady?.(urls[0] ?? '', endpoint, principal);

    const seconds = options.quick ? 1.5 : 4;
    const roundsPer = options.quick ? 3 : 5;
    const results: LoadResult[] = [];
    for (const concurrency of options.concurrencies) {
      const rounds: LoadRound[] = [];
      const pooled: number[] = [];
      for (let round = 0; round < roundsPer; round++) {
        const latencies: number[] = [];
        const r = await cannon(request(concurrency, seconds), (ms) => latencies.push(ms));
        pooled.push(...latencies);
        const statusCodes: Record<string, number> = {};
        for (const [code, { count }] of Object.entries(r.statusCodeStats)) {
          statusCodes[code] = Number(count);
        }
        rounds.push({
          issuedPerSecond: r['2xx'] / r.duration,
          latencyMs: summarize(latencies),
          non2xx: r.non2xx,
          errors: r.errors,
          statusCodes,
        });
      }
      results.push({
        concurrency,
        seconds,
        rounds,
        latencyMs: summarize(pooled),
        issuedPerSecond: summarize(rounds.map((r) => r.issuedPerSecond)),
      });
    }
    return results;
  } finally {
    for (const child of children) await child.stop();
  }
}
