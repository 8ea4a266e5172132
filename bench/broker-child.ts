/**
 * Child process (pinned to one core): a broker that the parent loads over real HTTP.
 * - `b1:start`: a broker for AC issuance (B1), on SQLite or one replica on PostgreSQL;
 * - `ssh:prepare` then `ssh:start`: a broker whose SSH credentials come from a dev backend
 *   wrapped to record dwell time (B5, B6), pointed at the parent's sshd, with the bench-only
 *   `ssh_unbound` connector beside `ssh` (B5 bound vs unbound);
 * - `http:start`: a broker with an oauth_exchange backend and the HTTP connector, pointed at
 *   the parent's authorization server and API (B7, DPoP-bound vs bearer);
 * - `stats`: dwell samples and memory; `exit` closes the broker and removes its data.
 */
import { DevBackend } from '../src/backends/dev/dev-backend.js';
import { serveParent } from './lib/child.js';
import { DwellRecorder, dwellWrap } from './lib/backends.js';
import {
  startBenchBroker,
  type BenchBroker,
  type BenchHttp,
  type PostgresReplica,
} from './lib/broker.js';
import { unboundSshConnector } from './lib/ssh-unbound.js';

let broker: BenchBroker | undefined;
let dev: DevBackend | undefined;
const dwell = new DwellRecorder();

serveParent(
  {
    'b1:start': async (args) => {
      const { did, postgres } = args as { did: string; postgres?: PostgresReplica };
      broker = await startBenchBroker({ principals: [did], postgres });
      return { url: broker.server.url };
    },
    'ssh:prepare': async () => {
      dev = await DevBackend.create({ id: 'bench-dev-inner' });
      return { caPublicKey: dev.caPublicKey() };
    },
    'ssh:start': async (args) => {
      const { did, port, knownHostsFile, login } = args as {
        did: string;
        port: number;
        knownHostsFile: string;
        login: string;
      };
      if (dev === undefined) throw new Error('ssh:prepare first');
      broker = await startBenchBroker({
        principals: [did],
        sshLogin: login,
        ssh: { port, knownHostsFile },
        backends: [dwellWrap(dev, 'bench-dev', dwell, { boundOnly: true })],
        connectors: [unboundSshConnector({ port, knownHostsFile })],
      });
      return { url: broker.server.url };
    },
    'http:start': async (args) => {
      const { did, http } = args as { did: string; http: BenchHttp };
      broker = await startBenchBroker({ principals: [did], http });
      return { url: broker.server.url, jwks: await broker.server.service.jwks() };
    },
    stats: () => {
      const usage = process.memoryUsage();
      return Promise.resolve({
        dwellMs: [...dwell.samples],
        liveCredentials: dwell.live,
        rssBytes: usage.rss,
        heapUsedBytes: usage.heapUsed,
        // resourceUsage().maxRSS is in KiB.
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
      });
    },
  },
  async () => {
    await broker?.close();
  },
);
