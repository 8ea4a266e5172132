/**
 * The doctor's network probes, on the HTTP transport's own pieces: a name is resolved once
 * and refused if it answers a link-local, metadata or unspecified address
 * (`resolveOnce`), every socket is opened by an injectable connect function given only an
 * address (tests refuse anything off loopback), and TLS is verified as for a target. An
 * HTTP probe is one HEAD with no credential, and what is kept of the answer is its status
 * and its `Date` header; nothing of a peer's text reaches the output.
 */
import type { LookupFunction } from 'node:net';
import { systemReason } from '../base/system-errors.js';
import { canonicalTarget } from '../governance/targets.js';
import { parseBase } from '../transports/http/base-url.js';
import {
  defaultConnect,
  defaultLookup,
  resolveOnce,
  type ConnectFunction,
} from '../transports/http/destination.js';
import { exchange } from '../transports/http/exchange.js';
import { BastionError } from '../base/errors.js';

export interface ProbeDeps {
  readonly lookup?: LookupFunction | undefined;
  readonly connect?: ConnectFunction | undefined;
  /** Per probe, in ms. */
  readonly timeoutMs: number;
  /** The broker's clock; Date.now by default. */
  readonly now?: (() => number) | undefined;
}

export type HttpProbe =
  | {
      readonly ok: true;
      readonly status: number;
      /** The peer's Date header in ms, when it sent one that parses. */
      readonly date?: number | undefined;
      /** Our clock halfway through the exchange, and half its round trip. */
      readonly midpoint: number;
      readonly halfRoundTrip: number;
    }
  | { readonly ok: false; readonly reason: string };

function why(err: unknown): string {
  if (err instanceof BastionError) return err.code;
  return systemReason(err);
}

/** One HEAD of `url` as configured, with no credential: reachable, and the peer's time. */
export async function probeHttp(url: string, deps: ProbeDeps): Promise<HttpProbe> {
  const now = deps.now ?? Date.now;
  let base;
  try {
    base = parseBase(canonicalTarget(url));
  } catch {
    return { ok: false, reason: 'not a URL the transport takes' };
  }
  const signal = AbortSignal.timeout(deps.timeoutMs);
  const started = now();
  try {
    const pinned = await resolveOnce(deps.lookup ?? defaultLookup, base.hostname, signal);
    const hop = await exchange({
      base,
      pinned,
      connect: deps.connect ?? defaultConnect,
      allowedLiteral: undefined,
      method: 'HEAD',
      requestPath: base.basePath === '' ? '/' : base.basePath,
      headers: {},
      body: undefined,
      bearer: undefined,
      maxBytes: 0,
      signal,
      ca: undefined,
    });
    const ended = now();
    const header = hop.headers.date;
    const date = header === undefined ? undefined : Date.parse(header);
    return {
      ok: true,
      status: hop.status,
      ...(date !== undefined && !Number.isNaN(date) && { date }),
      midpoint: (started + ended) / 2,
      halfRoundTrip: (ended - started) / 2,
    };
  } catch (err) {
    return {
      ok: false,
      reason: signal.aborted ? `no answer within ${deps.timeoutMs} ms` : why(err),
    };
  }
}

/** A TCP connection to `host:port` opens (a KDC): reachable or why not. */
export async function probeTcp(
  host: string,
  port: number,
  deps: ProbeDeps,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const signal = AbortSignal.timeout(deps.timeoutMs);
  try {
    const pinned = await resolveOnce(deps.lookup ?? defaultLookup, host, signal);
    const socket = (deps.connect ?? defaultConnect)({ ...pinned, port });
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new Error('timeout'));
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    }).finally(() => socket.destroy());
    return { ok: true };
  } catch (err) {
    return {
      ok: false,
      reason: signal.aborted ? `no answer within ${deps.timeoutMs} ms` : why(err),
    };
  }
}

/**
 * The peer's clock minus ours, in seconds, and how sure: the Date header has whole seconds,
 * so the peer's time lies in [date, date + 1 s); the exchange adds half its round trip.
 */
export function skewOf(probe: { date: number; midpoint: number; halfRoundTrip: number }): {
  skew: number;
  uncertainty: number;
} {
  return {
    skew: (probe.date + 500 - probe.midpoint) / 1000,
    uncertainty: (500 + probe.halfRoundTrip) / 1000,
  };
}
