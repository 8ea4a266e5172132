/**
 * Child process (pinned to one core): B3 against a real SPIRE — the spire backend's
 * `resolve` (a JWT-SVID as `oauth`, an X.509-SVID as `x509_svid`) and `dispose`, each beside
 * the raw Workload API call it makes (FetchJWTSVID; FetchX509SVID's first message), on the
 * same agent socket in the same run, so that the ratio is what the backend adds around the
 * agent's own answer. SPIRE (server + agent) is the one test/helpers/spire.ts starts; its
 * processes inherit this child's core.
 */
import {
  Client,
  credentials,
  status,
  type MethodDefinition,
  type ServiceError,
} from '@grpc/grpc-js';
import { SpireBackend } from '../src/backends/spire/spire-backend.js';
import { securityHeader, workloadService } from '../src/backends/spire/workload-api.js';
import type { AcContext } from '../src/credentials/types.js';
import { disposeCredential } from '../src/credentials/types.js';
import { type Spire, spireSkip, startSpire } from '../test/helpers/spire.js';
import { serveParent } from './lib/child.js';
import { measure, type MicroTask } from './lib/measure.js';

export interface SpireResult {
  readonly tasks: Record<string, MicroTask>;
}

const ME = 'spiffe://example.org/bastion';
const TARGET = 'https://api.bench.test';

let spire: Spire | undefined;
let backend: SpireBackend | undefined;
let raw: Client | undefined;

type Method = MethodDefinition<object, unknown>;

/** The raw calls: grpc-js, the same header and request the backend sends, nothing else. */
function rawCalls(client: Client): { jwt: () => Promise<unknown>; x509: () => Promise<unknown> } {
  const service = workloadService();
  const jwt = service['FetchJWTSVID'] as Method;
  const x509 = service['FetchX509SVID'] as Method;
  return {
    jwt: () =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          jwt.path,
          jwt.requestSerialize,
          jwt.responseDeserialize,
          { audience: [TARGET], spiffe_id: ME },
          securityHeader(),
          (err, reply) => (err ? reject(err) : resolve(reply)),
        );
      }),
    x509: () =>
      new Promise((resolve, reject) => {
        const stream = client.makeServerStreamRequest(
          x509.path,
          x509.requestSerialize,
          x509.responseDeserialize,
          {},
          securityHeader(),
        );
        stream.once('data', (reply: unknown) => {
          resolve(reply);
          stream.cancel();
        });
        stream.on('error', (err: ServiceError) => {
          if (err.code !== status.CANCELLED) reject(err); // CANCELLED: our own cancel
        });
      }),
  };
}

async function run(args: unknown): Promise<SpireResult> {
  const { quick } = args as { quick: boolean };
  const skip = spireSkip();
  if (skip !== false) throw new Error(skip);
  spire = await startSpire({ entries: [{ spiffeId: ME }] });
  backend = new SpireBackend({ socket: spire.socket, spiffeId: ME });
  raw = new Client(`unix://${spire.socket}`, credentials.createInsecure());
  const call = rawCalls(raw);
  const ac: AcContext = {
    ac_id: 'bench',
    principal_did: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    capability_mask: 1,
    capabilities: ['read'],
    accord_template: 'bench',
    connector: 'http',
    target: TARGET,
    expires_at: Math.floor(Date.now() / 1000) + 900,
  };
  const spireBackend = backend;
  // The agent caches a JWT-SVID per audience: both sides are served from that cache.
  await call.jwt();
  const tasks = await measure(
    {
      'raw.spire.fetchJwtSvid': call.jwt,
      'spire.resolve.oauth': async () => {
        disposeCredential(await spireBackend.resolve('oauth', TARGET, ac));
      },
      'raw.spire.fetchX509Svid': call.x509,
      'spire.resolve.x509_svid': async () => {
        disposeCredential(await spireBackend.resolve('x509_svid', TARGET, ac));
      },
    },
    { rounds: quick ? 3 : 5, timeMs: quick ? 200 : 1000 },
  );
  return { tasks };
}

serveParent({ run }, async () => {
  raw?.close();
  await backend?.close();
  await spire?.stop();
});
