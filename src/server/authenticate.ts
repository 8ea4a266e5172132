/**
 * The broker's authentication edge: every route declares in its config how its caller is
 * authenticated (`auth: 'none' | 'proof' | 'ac'`), one hook authenticates before the
 * handler runs (governance/authenticate.ts holds the rules), and a route that declares
 * nothing stops the server at start. Handlers read the outcome with `callerOf` / `acHolderOf`.
 *
 * Before any proof is verified, the client address must not be over its limit of failed
 * authentications: a flood of bad proofs or of keys no accord names is cut off by address,
 * while the per-principal limit (after authentication) never sees a stranger.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AcExpiredError, InternalError } from '../base/errors.js';
import { AuthenticationError, UnknownPrincipalError } from '../governance/auth-errors.js';
import type { AcHolder, Authenticator, RequestProof } from '../governance/authenticate.js';
import type { VerifiedProof } from '../governance/dpop.js';
import type { RateLimiter } from './rate-limit.js';
import type { RefusalCounter } from './refusals.js';
import type { BrokerTelemetry } from './telemetry.js';

/** none: public (health, keys, the API document); proof: a DPoP proof; ac: an AC and its proof. */
export type AuthMode = 'none' | 'proof' | 'ac';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthMode;
  }
}

/** The OpenAPI security schemes (see fastify.ts) each mode requires. */
const SECURITY: Record<AuthMode, Record<string, string[]>[]> = {
  none: [],
  proof: [{ dpop: [] }],
  ac: [{ dpop: [], ac: [] }],
};

const callers = new WeakMap<FastifyRequest, VerifiedProof>();
const holders = new WeakMap<FastifyRequest, AcHolder>();

/** Refusals that count against the client address: the caller did not authenticate. */
function isAuthenticationFailure(err: unknown): boolean {
  return (
    err instanceof AuthenticationError ||
    err instanceof AcExpiredError ||
    err instanceof UnknownPrincipalError
  );
}

export function installAuthentication(
  app: FastifyInstance,
  deps: {
    authenticator: Authenticator;
    publicUrl: () => string;
    /** Failed authentications per client address and minute. */
    addressLimiter: RateLimiter;
    refusals: RefusalCounter;
    /** Counts address refusals; the authentication is a span of the request. */
    telemetry?: BrokerTelemetry;
  },
): void {
  app.addHook('onRoute', (route) => {
    const mode = route.config?.auth;
    if (mode === undefined) {
      throw new TypeError(`route ${route.method.toString()} ${route.url} declares no auth mode`);
    }
    // The API document says what each route takes, from the same declaration.
    route.schema = { ...route.schema, security: SECURITY[mode] };
  });
  app.addHook('preHandler', async (request) => {
    const mode = request.routeOptions.config.auth;
    if (mode === 'none' || mode === undefined) return;
    try {
      deps.addressLimiter.check(request.ip);
    } catch (err) {
      deps.refusals.note('address_limited');
      deps.telemetry?.rateLimited('address');
      throw err;
    }
    try {
      const run = (): Promise<void> => authenticate(request, mode);
      await (deps.telemetry?.requestSpan(request, 'authenticate', run) ?? run());
    } catch (err) {
      if (isAuthenticationFailure(err)) {
        deps.addressLimiter.note(request.ip);
        deps.refusals.note(
          err instanceof UnknownPrincipalError ? 'unknown_principal' : 'authentication_failed',
        );
      }
      throw err;
    }
  });

  async function authenticate(request: FastifyRequest, mode: 'proof' | 'ac'): Promise<void> {
    const proof: RequestProof = {
      authorization: request.headers.authorization,
      dpop: request.headers.dpop,
      method: request.method,
      // htu is checked against the URL as the caller reaches the broker, without the query.
      url: deps.publicUrl() + (request.url.split('?')[0] ?? '/'),
      base: deps.publicUrl(),
    };
    if (mode === 'proof') {
      callers.set(request, await deps.authenticator.caller(proof));
      return;
    }
    const holder = await deps.authenticator.acHolder(proof);
    callers.set(request, holder.caller);
    holders.set(request, holder);
  }
}

/** The authenticated caller of a `proof` or `ac` route. */
export function callerOf(request: FastifyRequest): VerifiedProof {
  const caller = callers.get(request);
  // A handler reading a caller its route never authenticated is a bug, not a refusal.
  if (caller === undefined) throw new InternalError();
  return caller;
}

/** The caller and verified AC of an `ac` route. */
export function acHolderOf(request: FastifyRequest): AcHolder {
  const holder = holders.get(request);
  if (holder === undefined) throw new InternalError();
  return holder;
}
