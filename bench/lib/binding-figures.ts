/**
 * The cost of binding a credential to its invocation (#17), as figures with a baseline of
 * the same run: B5 with a bound certificate against the same invocation unbound, and B7,
 * the DPoP proof the HTTP connector signs per request (micro) and a DPoP-bound invocation
 * against a bearer one (end to end). B3's bound-vs-unbound minting row is with the other
 * micro figures in run.ts.
 */
import type { MicroResult } from '../micro.js';
import type { HttpDpopResult } from './http-dpop-e2e.js';
import { microTaskFigure } from './micro-figure.js';
import type { Figure } from './report.js';
import type { SshResult } from './ssh-e2e.js';

function proofFigure(micro: MicroResult): Figure | undefined {
  const t = micro.tasks['dpop.sign.request'];
  const b = micro.tasks['raw.sign.proof'];
  const sync = micro.tasks['dpop.sign.nodeCrypto'];
  if (t === undefined || b === undefined) return undefined;
  return microTaskFigure(
    'B7',
    "DPoP proof for one HTTP request, the HTTP connector's hook (dpopSigner)",
    t,
    b,
    `raw crypto.sign of the same ${micro.sizes.outboundProofBytes}-byte signing input with a ready Ed25519 KeyObject`,
    'every request with a DPoP-bound token signs one: the key rebuilt from its seed, ath, jose’s SignJWT' +
      (sync === undefined
        ? ''
        : `; the same proof with node:crypto, sync, ${sync.latencyUs.median.toFixed(1)} µs`),
  );
}

function sshBoundFigure(ssh: SshResult): Figure | undefined {
  if ('skipped' in ssh) return undefined;
  const u = ssh.bastionUnboundMs;
  return {
    id: 'B5',
    name: 'SSH `exec true` through Bastion, certificate bound (force-command, source-address) vs unbound',
    unit: 'ms',
    median: ssh.bastionMs.median,
    p99: ssh.bastionMs.p99,
    min: ssh.bastionMs.min,
    max: ssh.bastionMs.max,
    rounds: 1,
    samples: ssh.pairs,
    baseline: {
      name: `the same invocation with an unbound certificate (bench-only ssh_unbound connector), interleaved; its p99 ${u.p99.toFixed(1)} ms, min ${u.min.toFixed(1)} ms`,
      value: u.median,
      unit: 'ms',
    },
    ratio: ssh.ratioMedianBound,
    ratioP99: ssh.ratioP99Bound,
    note: 'the cost of binding end to end (#17): same broker, backend and sshd',
  };
}

function httpFigure(h: HttpDpopResult): Figure {
  return {
    id: 'B7',
    name: 'HTTP GET through Bastion (POST /connectors/http/invoke), DPoP-bound token vs bearer',
    unit: 'ms',
    median: h.dpopMs.median,
    p99: h.dpopMs.p99,
    min: h.dpopMs.min,
    max: h.dpopMs.max,
    rounds: 1,
    samples: h.pairs,
    baseline: {
      name: `the same invocation with a bearer token (accord oauth.sender_constrained off), interleaved; its p99 ${h.bearerMs.p99.toFixed(2)} ms`,
      value: h.bearerMs.median,
      unit: 'ms',
    },
    ratio: h.ratioMedian,
    ratioP99: h.ratioP99,
    note: `each invocation exchanges a token at oidc-provider (features.dPoP) and calls a loopback API that checks it (and the proof) with jose; the request to the API alone, as the connector times it: p50 ${h.dpopRequestMs.median} ms with DPoP, ${h.bearerRequestMs.median} ms bearer (whole ms)`,
  };
}

export function bindingFigures(
  ssh: SshResult | undefined,
  http: HttpDpopResult | undefined,
  micro: MicroResult | undefined,
): Figure[] {
  const figures = [
    ssh === undefined ? undefined : sshBoundFigure(ssh),
    micro === undefined ? undefined : proofFigure(micro),
    http === undefined ? undefined : httpFigure(http),
  ];
  return figures.filter((f): f is Figure => f !== undefined);
}
