/**
 * `bastion demo`: a governed invocation end to end on embedded defaults, in one process and
 * without root services — start a broker (SQLite in a temporary directory, the dev backend)
 * with a sample accord and a local Bascule runtime; issue an AC over HTTP with a DPoP
 * proof; run a command through Bascule (and over SSH when an sshd can be started here);
 * show a refused command; revoke the AC; print and verify the audit trail. Everything is
 * removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { verifyAudit } from '../audit/verify.js';
import { startBascule } from '../bascule/runtime.js';
import { BastionClient, BrokerError } from '../client/client.js';
import { parseConfig } from '../config/config.js';
import { unsafeDecodeAc } from '../governance/ac.js';
import { generatePrincipalKey } from '../governance/did-key.js';
import { startServer } from '../server/app.js';
import { parseCommandArgs } from './args.js';
import { FLAGS } from './flags.js';
import { freePort } from '../base/free-port.js';

const SSHD = '/usr/sbin/sshd';
/** The repository's sshd script (test/peers/sshd.sh), present in a clone. */
const SSHD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../../test/peers/sshd.sh');

export function sampleConfig(o: {
  did: string;
  dataDir: string;
  socket: string;
  ssh?: { port: number; knownHosts: string; user: string };
}): string {
  return `listen: 127.0.0.1:0
data_dir: ${o.dataDir}
log_level: warn
admins: [${o.did}]
connectors:
  bascule: { targets: { "demo.internal.test": "unix:${o.socket}" } }
${o.ssh ? `  ssh: { known_hosts: ${o.ssh.knownHosts}, hosts: { "127.0.0.1": { port: ${o.ssh.port} } } }\n` : ''}backends:
  - kind: dev
accords:
  - id: ops-exec
    principals: [${o.did}]
    connectors: [ssh, bascule]
    targets: ["*.internal.test", "127.0.0.1"]
    capabilities: [read, exec]
    commands: { allow: ["uptime", "id", "echo *", "systemctl status *"], deny: ["*rm *", "rm *"] }
    max_duration: 15m
    ssh_login: ${o.ssh?.user ?? 'ops'}
`;
}

/** A throwaway sshd through the repository's script, when this machine can run one. */
async function startDemoSshd(dir: string, user: string) {
  if (!existsSync(SSHD) || !existsSync(SSHD_SCRIPT)) return undefined;
  const port = await freePort();
  const env = { ...process.env, W: dir, SSH_PORT: String(port) };
  mkdirSync(join(dir, 'principals'), { recursive: true });
  writeFileSync(join(dir, 'principals', user), `${user}\n`);
  if (spawnSync('bash', [SSHD_SCRIPT, 'start'], { env, stdio: 'ignore' }).status !== 0)
    return undefined;
  const hostKey = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8')
    .trim()
    .split(' ')
    .slice(0, 2)
    .join(' ');
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  return {
    port,
    knownHosts: join(dir, 'known_hosts'),
    trust: (caLine: string) => writeFileSync(join(dir, 'ca.pub'), caLine),
    stop: () => void spawnSync('bash', [SSHD_SCRIPT, 'stop'], { env, stdio: 'ignore' }),
  };
}

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(() =>
    parseArgs({
      args,
      options: FLAGS.demo,
      strict: true,
    }),
  );
  const json = values.json === true;
  const say = (line = ''): void => {
    if (!json) process.stdout.write(line + '\n');
  };
  const indent = (text: string): string => text.replace(/^/gm, '     ');
  const dir = mkdtempSync(join(tmpdir(), 'bastion-demo-'));
  const dataDir = join(dir, 'data');
  const socket = join(dir, 'bascule.sock');
  const user = userInfo().username;
  const principal = generatePrincipalKey();
  const sshd = values['no-ssh'] === true ? undefined : await startDemoSshd(join(dir, 'sshd'), user);
  const configText = sampleConfig({
    did: principal.did,
    dataDir,
    socket,
    ...(sshd ? { ssh: { port: sshd.port, knownHosts: sshd.knownHosts, user } } : {}),
  });
  const server = await startServer({
    config: parseConfig(configText, join(dir, 'bastion.yaml')),
    logDestination: false,
  });
  const summary: Record<string, unknown> = { broker: server.url, principal: principal.did };
  let bascule: Awaited<ReturnType<typeof startBascule>> | undefined;
  try {
    // The demo's configuration lists the dev backend: it is there.
    const dev = server.dev as NonNullable<typeof server.dev>;
    sshd?.trust(dev.caPublicKey() + '\n');
    bascule = await startBascule({
      name: 'demo.internal.test',
      jwksUrl: `${server.url}/.well-known/jwks.json`,
      socket,
      auditFile: join(dir, 'bascule-audit.jsonl'),
      cwd: dir,
      logDestination: false,
    });
    say(`1. A broker on ${server.url} (SQLite in ${dataDir}), a Bascule runtime on ${socket}`);
    say(
      `   ${sshd ? `and an OpenSSH sshd on 127.0.0.1:${sshd.port} trusting the dev CA` : '(no sshd available here: the SSH step is skipped)'}. The accord:`,
    );
    say(indent(configText.slice(configText.indexOf('accords:')).trimEnd()));
    say(`   Principal: ${principal.did} (a fresh did:key, only in memory)`);

    const client = new BastionClient({ url: server.url, key: principal });
    const issued = await client.authorize({
      accord: 'ops-exec',
      connector: 'bascule',
      target: 'demo.internal.test',
      capabilities: ['exec'],
      duration_seconds: 600,
      justification: 'bastion demo',
    });
    if (issued.status !== 'active') throw new Error('the demo accord needs no approval');
    const claims = unsafeDecodeAc(issued.ac) as {
      ctx: Record<string, unknown>;
      cnf: unknown;
      exp: number;
    };
    say();
    say(
      `2. POST /governance/authorize/ (DPoP) → 201: AC ${issued.ac_id}, expires ${issued.expires_at}`,
    );
    say(
      `   bound to the principal's key (cnf ${JSON.stringify(claims.cnf)}), ctx ${JSON.stringify(claims.ctx)}`,
    );

    const ran = await client.invoke('bascule', issued.ac, {
      target: 'demo.internal.test',
      operation: { argv: ['echo', 'hello from Bascule'] },
    });
    summary['bascule'] = ran;
    say();
    say(
      `3. POST /connectors/bascule/invoke {argv: ["echo", "hello from Bascule"]} → exit ${String(ran.result.exit_code)}:`,
    );
    say(indent(ran.result.stdout.trimEnd()));
    say(
      `   credential: a single-use ${ran.credential.type} grant (${ran.credential.fingerprint}), revoked and zero-filled after use`,
    );

    const denied = await client
      .invoke('bascule', issued.ac, {
        target: 'demo.internal.test',
        operation: { argv: ['rm', '-rf', '/'] },
      })
      .then(
        () => 'ran?!',
        (e: unknown) => (e instanceof BrokerError ? `${e.status} ${e.code}` : 'error'),
      );
    summary['denied'] = denied;
    say(`4. The same AC asking for ["rm", "-rf", "/"] → ${denied}, before any credential exists`);

    if (sshd) {
      const sshAc = await client.authorize({
        accord: 'ops-exec',
        connector: 'ssh',
        target: '127.0.0.1',
        capabilities: ['exec'],
        duration_seconds: 300,
      });
      if (sshAc.status === 'active') {
        const viaSsh = await client.invoke('ssh', sshAc.ac, {
          target: '127.0.0.1',
          operation: { argv: ['id'] },
        });
        summary['ssh'] = viaSsh;
        say(
          `5. Over SSH with a 5-minute certificate for login '${user}' (${viaSsh.credential.fingerprint}, serial ${viaSsh.credential.id ?? '-'}):`,
        );
        say(indent(viaSsh.result.stdout.trimEnd()));
      }
    }

    const revoked = await client.revoke(issued.ac_id);
    const after = await client
      .invoke('bascule', issued.ac, { target: 'demo.internal.test', operation: { argv: ['id'] } })
      .then(
        () => 'ran?!',
        (e: unknown) => (e instanceof BrokerError ? e.code : 'error'),
      );
    summary['after_revoke'] = after;
    say(
      `6. POST /governance/revoke/ → '${revoked.status}'; the next invocation is refused: ${after}`,
    );

    const { entries } = await client.audit({ limit: 100 });
    await server.audit.checkpoint();
    const report = await verifyAudit({
      store: server.store,
      sinkFile: join(dataDir, 'audit', 'audit.jsonl'),
      publicKeys: server.keyring.allPublicKeys(),
    });
    summary['audit'] = { entries: entries.length, ok: report.ok, problems: report.problems };
    say();
    say(`7. The audit trail (GET /audit), hash-chained; credentials appear only as fingerprints:`);
    for (const e of entries) {
      say(
        `     #${String(e.seq).padEnd(3)} ${e.type.padEnd(18)} ${(e.outcome ?? '').padEnd(20)} ${e.connector ?? ''} ${e.target ?? ''}`.trimEnd(),
      );
    }
    say(
      `   bastion audit verify: ${report.ok ? 'ok' : 'PROBLEMS'} — ${report.entries} entries, chain intact, signed checkpoint at #${report.lastCheckpoint?.seq ?? '-'}`,
    );
    if (json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return report.ok && ran.result.exit_code === 0 && after === 'ac_revoked' ? 0 : 1;
  } finally {
    await bascule?.close();
    await server.close();
    sshd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
