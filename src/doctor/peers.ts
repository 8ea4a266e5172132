/**
 * Backends and clocks: where each configured backend is reached, whether it answers, and
 * the skew of every peer that says its time. No backend kind is named here: a backend's
 * peers are read from its parsed settings by key (`*endpoint`, `address`, `authority`: a
 * URL; `kdcs`: host and port; `socket`: a local socket), so a new kind is probed as soon as
 * its settings use those names. One HEAD per URL serves both the backend's reachability
 * and its clock; HTTP targets named exactly in an accord of the http connector are asked
 * their time too. SSH has no time in its handshake, and a KDC gives its time only in reply
 * to an AS request: both are said, not measured.
 */
import { statSync } from 'node:fs';
import type { BastionConfig } from '../config/config.js';
import type { BackendEntry } from '../config/types.js';
import { hasWildcard } from '../governance/patterns.js';
import { type CheckResult, result, worst } from './check.js';
import { type HttpProbe, type ProbeDeps, probeHttp, probeTcp, skewOf } from './probes.js';

interface Endpoints {
  readonly urls: string[];
  readonly tcp: { host: string; port: number }[];
  readonly sockets: string[];
}

const URL_KEY = /(?:^|_)(?:endpoint|address|authority)$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

/** The peers a backend's settings name, by the keys above (plain data only; never a Secret). */
export function endpointsOf(settings: unknown): Endpoints {
  const found: Endpoints = { urls: [], tcp: [], sockets: [] };
  const walk = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (URL_KEY.test(key) && /^https?:\/\//.test(value)) found.urls.push(value);
      else if (key === 'socket' && value.startsWith('/')) found.sockets.push(value);
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, key);
    } else if (isRecord(value)) {
      if (
        key === 'kdcs' &&
        typeof value['host'] === 'string' &&
        typeof value['port'] === 'number'
      ) {
        found.tcp.push({ host: value['host'], port: value['port'] });
        return;
      }
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(settings, '');
  return found;
}

function backendName(entry: BackendEntry): string {
  const id = isRecord(entry.settings) ? entry.settings['id'] : undefined;
  return typeof id === 'string' ? id : entry.kind;
}

function socketProblem(path: string): string | undefined {
  try {
    return statSync(path).isSocket() ? undefined : 'not a socket';
  } catch {
    return 'missing';
  }
}

export interface PeerOptions extends ProbeDeps {
  /** Skip every network check (sockets on this host are still looked at). */
  readonly offline: boolean;
}

/** One HEAD per distinct URL, all at once; every probe is bounded by its timeout. */
async function probeAll(
  urls: readonly string[],
  options: PeerOptions,
): Promise<Map<string, HttpProbe>> {
  const distinct = [...new Set(urls)];
  const probes = await Promise.all(distinct.map((url) => probeHttp(url, options)));
  return new Map(distinct.map((url, i) => [url, probes[i] as HttpProbe]));
}

async function backendResult(
  entry: BackendEntry,
  probes: ReadonlyMap<string, HttpProbe>,
  options: PeerOptions,
): Promise<CheckResult> {
  const name = backendName(entry);
  const { urls, tcp, sockets } = endpointsOf(entry.settings);
  const lines: string[] = [];
  const statuses: ('ok' | 'fail')[] = [];
  for (const path of sockets) {
    const problem = socketProblem(path);
    statuses.push(problem === undefined ? 'ok' : 'fail');
    lines.push(`socket ${path}: ${problem ?? 'present'}`);
  }
  if (!options.offline) {
    for (const url of urls) {
      const probe = probes.get(url);
      statuses.push(probe?.ok === true ? 'ok' : 'fail');
      lines.push(
        `${url}: ${probe?.ok === true ? `answers (HTTP ${probe.status})` : `unreachable: ${probe?.reason ?? 'not probed'}`}`,
      );
    }
    for (const kdc of tcp) {
      const probe = await probeTcp(kdc.host, kdc.port, options);
      statuses.push(probe.ok ? 'ok' : 'fail');
      lines.push(
        `${kdc.host}:${kdc.port}: ${probe.ok ? 'accepts connections' : `unreachable: ${probe.reason}`}`,
      );
    }
  }
  const networked = urls.length + tcp.length;
  if (options.offline && networked > 0 && sockets.length === 0) {
    return result(
      'backends',
      name,
      'skipped',
      `backend ${name} (${entry.kind}): network check skipped (--offline)`,
    );
  }
  if (lines.length === 0) {
    return result(
      'backends',
      name,
      'ok',
      `backend ${name} (${entry.kind}): nothing to reach (in-process)`,
    );
  }
  const status = worst(statuses);
  return result(
    'backends',
    name,
    status,
    `backend ${name} (${entry.kind}): ${status === 'ok' ? 'reachable' : 'unreachable'}`,
    lines,
  );
}

function clockResult(url: string, probe: HttpProbe | undefined, threshold: number): CheckResult {
  if (probe === undefined || !probe.ok) {
    return result('clock', url, 'skipped', `${url}: not measured (unreachable)`);
  }
  if (probe.date === undefined) {
    return result('clock', url, 'skipped', `${url}: not measured (no Date header)`);
  }
  const { skew, uncertainty } = skewOf({ ...probe, date: probe.date });
  const said = `${url}: skew ${skew >= 0 ? '+' : ''}${skew.toFixed(1)} s (±${uncertainty.toFixed(1)} s), allowed ${threshold} s`;
  return result('clock', url, Math.abs(skew) - uncertainty > threshold ? 'fail' : 'ok', said);
}

/** The http connector's targets an accord names exactly: URLs to ask the time of. */
function httpTargets(config: BastionConfig): string[] {
  return config.accords
    .filter((a) => a.connectors.includes('http'))
    .flatMap((a) => a.targets.filter((t) => /^https?:\/\//.test(t) && !hasWildcard(t)));
}

export async function checkPeers(
  config: BastionConfig,
  options: PeerOptions,
): Promise<CheckResult[]> {
  const backendUrls = config.backends.flatMap((b) => endpointsOf(b.settings).urls);
  const timeUrls = [...new Set([...backendUrls, ...httpTargets(config)])];
  const probes = options.offline ? new Map<string, HttpProbe>() : await probeAll(timeUrls, options);
  const results: CheckResult[] = [];
  for (const entry of config.backends) results.push(await backendResult(entry, probes, options));
  if (options.offline) {
    results.push(result('clock', 'http', 'skipped', 'HTTP peers: not measured (--offline)'));
  } else {
    results.push(
      ...timeUrls.map((url) => clockResult(url, probes.get(url), config.clock_skew_seconds)),
    );
  }
  if (config.backends.some((b) => endpointsOf(b.settings).tcp.length > 0)) {
    results.push(
      result(
        'clock',
        'kdc',
        'skipped',
        'Kerberos KDCs: not measured (a KDC says its time only in reply to an AS request, which the doctor does not send; the KDC itself refuses a skew beyond its own limit)',
      ),
    );
  }
  if (config.accords.some((a) => a.connectors.includes('ssh'))) {
    results.push(
      result(
        'clock',
        'ssh',
        'skipped',
        'SSH targets: not measurable (no time in the SSH handshake)',
      ),
    );
  }
  return results;
}
