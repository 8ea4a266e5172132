/**
 * B7 end to end: one HTTP invocation with a DPoP-bound token against the same invocation
 * with a bearer token (#17), both `POST /connectors/http/invoke` through one broker (a
 * pinned child process) with an oauth_exchange backend.
 *
 * In this process (the load core): a real authorization server, oidc-provider with
 * features.dPoP (test/helpers/oauth-as.ts), and a loopback API that checks its tokens and,
 * for a bound one, the proof (test/helpers/resource-server.ts, jose). Two accords name the
 * same API and differ in `oauth.sender_constrained` only: `required` (the backend sends a
 * proof from a fresh per-invocation key, the server binds the token to it, the connector
 * sends `Authorization: DPoP` with a fresh proof) and `off` (a bearer token, no proof).
 * Every invocation exchanges a token (nothing is cached between invocations, by design),
 * so a pair differs by: a key pair, two proofs signed by the broker, and the two proofs
 * checked by the servers. Interleaved DPoP, bearer, DPoP, bearer…; each is checked to
 * have reached the API with the scheme it should.
 */
import { BastionClient } from '../../src/client/client.js';
import type { PublicJwks } from '../../src/governance/keyring.js';
import { generatePrincipalKey } from '../../src/governance/did-key.js';
import type { HttpResult } from '../../src/transports/http/response.js';
import { type AuthorizationServer, startAuthorizationServer } from '../../test/helpers/oauth-as.js';
import { type ResourceServer, startResourceServer } from '../../test/helpers/resource-server.js';
import { BEARER_ACCORD, DPOP_ACCORD } from './broker.js';
import { type Placement, sibling, spawnChild } from './child.js';
import { summarize, type Summary } from './stats.js';

export interface HttpDpopResult {
  readonly pairs: number;
  readonly dpopMs: Summary;
  readonly bearerMs: Summary;
  readonly ratioMedian: number;
  readonly ratioP99: number;
  /** The HTTP connector's own `duration_ms` for the request to the API, per scheme. */
  readonly dpopRequestMs: Summary;
  readonly bearerRequestMs: Summary;
}

export async function runHttpDpopEndToEnd(
  placement: Placement,
  options: { quick: boolean },
): Promise<HttpDpopResult> {
  const pairs = options.quick ? 30 : 150;
  const principal = generatePrincipalKey();
  let brokerJwks: PublicJwks = { keys: [] };
  const resources: Record<string, { scopes: string[] }> = {};
  let as: AuthorizationServer | undefined;
  let api: ResourceServer | undefined;
  const child = spawnChild(sibling(import.meta.url, '../broker-child'), placement.brokerCore);
  try {
    as = await startAuthorizationServer({ brokerJwks: () => brokerJwks, resources, dpop: true });
    api = await startResourceServer({
      issuer: as.issuer,
      jwksUri: as.jwksUri,
      requiredScope: 'read',
    });
    resources[api.url] = { scopes: ['read'] };
    const started = await child.call<{ url: string; jwks: PublicJwks }>('http:start', {
      did: principal.did,
      http: {
        tokenEndpoint: as.tokenEndpoint,
        issuer: as.issuer,
        clientId: as.clientIds.secretBasic,
        clientSecret: as.clientSecret,
        api: api.url,
      },
    });
    brokerJwks = started.jwks;
    const client = new BastionClient({ url: started.url, key: principal });
    const acFor = async (accord: string): Promise<string> => {
      const issued = await client.authorize({
        accord,
        connector: 'http',
        target: api?.url ?? '',
        capabilities: ['read'],
        duration_seconds: 900,
      });
      if (issued.status !== 'active') throw new Error(`accord ${accord} did not issue an AC`);
      return issued.ac;
    };
    const acs = { DPoP: await acFor(DPOP_ACCORD), Bearer: await acFor(BEARER_ACCORD) };
    const requestMs = { DPoP: [] as number[], Bearer: [] as number[] };
    const invoke = async (scheme: 'DPoP' | 'Bearer'): Promise<number> => {
      const start = performance.now();
      const reply = await client.invoke<HttpResult>('http', acs[scheme], {
        target: api?.url ?? '',
        operation: { method: 'GET', path: '/things' },
      });
      const ms = performance.now() - start;
      const sent = api?.seen.at(-1);
      if (reply.result.status !== 200 || sent?.authorization.startsWith(`${scheme} `) !== true) {
        throw new Error(`the ${scheme} invocation got ${reply.result.status} from the API`);
      }
      if ((sent.dpop !== undefined) !== (scheme === 'DPoP')) throw new Error('proof mismatch');
      requestMs[scheme].push(reply.result.duration_ms);
      return ms;
    };
    for (let i = 0; i < 5; i++) {
      await invoke('DPoP');
      await invoke('Bearer');
    }
    requestMs.DPoP.length = 0;
    requestMs.Bearer.length = 0;
    const dpop: number[] = [];
    const bearer: number[] = [];
    for (let i = 0; i < pairs; i++) {
      dpop.push(await invoke('DPoP'));
      bearer.push(await invoke('Bearer'));
    }
    const dpopMs = summarize(dpop);
    const bearerMs = summarize(bearer);
    return {
      pairs,
      dpopMs,
      bearerMs,
      ratioMedian: dpopMs.median / bearerMs.median,
      ratioP99: dpopMs.p99 / bearerMs.p99,
      dpopRequestMs: summarize(requestMs.DPoP),
      bearerRequestMs: summarize(requestMs.Bearer),
    };
  } finally {
    await child.stop();
    await api?.close();
    await as?.close();
  }
}
