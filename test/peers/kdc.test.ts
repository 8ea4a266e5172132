/**
 * The test KDC (test/helpers/kdc.ts) checked with MIT's own client tools, before any Bastion
 * code talks to it: constrained delegation works for the broker and only as configured, the
 * KDC's log says so in a form kdc-log.ts reads, tickets last at most the window, the KDC can
 * be taken down and brought back, and its clock-skew allowance is what it was told. The
 * ccaches are test-only files in the KDC's temporary directory.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  kinitKeytab,
  kvnoForUser,
  listCache,
  mitEnv,
  runTool,
  skewCcacheClock,
} from '../helpers/kdc-cli.js';
import { ENCTYPES } from '../helpers/kdc-files.js';
import { type KdcRequest, parseKdcLog, s4uRequests, showsDelegation } from '../helpers/kdc-log.js';
import { OUTSIDE_SPN, type Kdc, connects, skipWithoutKdc, startKdc } from '../helpers/kdc.js';

const WSMAN = 'WSMAN/win1.bastion.test';

describe(
  'the test KDC (MIT krb5kdc, LDAP database) with MIT client tools',
  { skip: skipWithoutKdc() },
  () => {
    let kdc: Kdc;
    let brokerCache: string;
    let kerberosOnlyCache: string;
    let n = 0;
    const cache = (): string => join(kdc.dir, `cc-${++n}`);
    /** The log's requests since `mark` (a length of the log text). */
    const since = (mark: number): KdcRequest[] => parseKdcLog(kdc.log().slice(mark));

    before(async () => {
      const started = process.hrtime.bigint();
      kdc = await startKdc();
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      process.stderr.write(
        `KDC bring-up (slapd, realm, principals, krb5kdc): ${ms.toFixed(0)} ms\n`,
      );
      brokerCache = cache();
      kerberosOnlyCache = cache();
      assert.equal((await kinitKeytab(kdc, kdc.broker, brokerCache)).code, 0);
      assert.equal((await kinitKeytab(kdc, kdc.brokerKerberosOnly, kerberosOnlyCache)).code, 0);
    });
    after(() => kdc?.stop());

    const proxy = (user: string, spn: string, from = brokerCache, outCache = cache()) =>
      kvnoForUser(kdc, { ccache: from, user, spn, outCache, proxy: true }).then((r) => ({
        ...r,
        outCache,
      }));

    it('gives the broker a ticket for alice to WSMAN/win1 through S4U2Self then S4U2Proxy', async () => {
      const mark = kdc.log().length;
      const r = await proxy('alice', WSMAN);
      assert.equal(r.code, 0, r.stderr);
      const listing = await listCache(kdc, r.outCache);
      assert.equal(listing.principal, kdc.users.alice.principal);
      assert.deepEqual(
        listing.tickets.map((t) => t.server),
        [`${WSMAN}@${kdc.realm}`],
      );
      const log = kdc.log().slice(mark);
      assert.ok(showsDelegation(log, { user: 'alice', spn: WSMAN, service: kdc.broker.principal }));
      // The reader is not vacuous: nothing was delegated for bob, nor by the other broker.
      assert.ok(!showsDelegation(log, { user: 'bob', spn: WSMAN }));
      assert.ok(
        !showsDelegation(log, {
          user: 'alice',
          spn: WSMAN,
          service: kdc.brokerKerberosOnly.principal,
        }),
      );
      const s4u = s4uRequests(log);
      assert.deepEqual(
        s4u.map((q) => [q.s4u, q.status, q.client, q.server, q.user]),
        [
          [
            's4u2self',
            'ISSUE',
            kdc.broker.principal,
            kdc.broker.principal,
            kdc.users.alice.principal,
          ],
          [
            's4u2proxy',
            'ISSUE',
            kdc.broker.principal,
            `${WSMAN}@${kdc.realm}`,
            kdc.users.alice.principal,
          ],
        ],
      );
    });

    it('delegates to every SPN on the list, for bob too', async () => {
      for (const spn of kdc.delegateTo) {
        const mark = kdc.log().length;
        const r = await proxy('bob', spn);
        assert.equal(r.code, 0, `${spn}: ${r.stderr}`);
        assert.ok(showsDelegation(kdc.log().slice(mark), { user: 'bob', spn }), spn);
      }
    });

    it('refuses an SPN outside the delegation list (UNSUPPORTED_S4U2PROXY_REQUEST)', async () => {
      const mark = kdc.log().length;
      const r = await proxy('alice', OUTSIDE_SPN);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /constrained delegation failed/);
      assert.ok(!existsSync(r.outCache) || (await listCache(kdc, r.outCache)).tickets.length === 0);
      const refused = since(mark).filter((q) => q.s4u === 's4u2proxy');
      assert.deepEqual(
        refused.map((q) => [q.status, q.client, q.server]),
        [['UNSUPPORTED_S4U2PROXY_REQUEST', kdc.broker.principal, `${OUTSIDE_SPN}@${kdc.realm}`]],
      );
      assert.ok(!showsDelegation(kdc.log().slice(mark), { user: 'alice', spn: OUTSIDE_SPN }));
    });

    it('will not delegate the user marked -allow_forwardable: S4U2Self only, never forwardable', async () => {
      // S4U2Self alone: alice's evidence ticket is forwardable, sensitive's is not.
      const flags = async (user: string): Promise<string> => {
        const outCache = cache();
        const r = await kvnoForUser(kdc, {
          ccache: brokerCache,
          user,
          spn: kdc.broker.principal,
          outCache,
          proxy: false,
        });
        assert.equal(r.code, 0, r.stderr);
        return (await listCache(kdc, outCache)).tickets[0]?.flags ?? '';
      };
      assert.match(await flags('alice'), /F/);
      assert.doesNotMatch(await flags('sensitive'), /F/);

      const mark = kdc.log().length;
      const r = await proxy('sensitive', WSMAN);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /constrained delegation failed/);
      const s4u = since(mark).filter((q) => q.s4u !== undefined);
      assert.deepEqual(
        s4u.map((q) => [q.s4u, q.status, q.user]),
        [
          ['s4u2self', 'ISSUE', kdc.users.sensitive.principal],
          ['s4u2proxy', 'EVIDENCE_TKT_NOT_FORWARDABLE', undefined],
        ],
      );
    });

    it('refuses S4U2Proxy to a broker without ok_to_auth_as_delegate, with the same list', async () => {
      const mark = kdc.log().length;
      const r = await proxy('alice', WSMAN, kerberosOnlyCache);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /constrained delegation failed/);
      const s4u = since(mark).filter((q) => q.s4u !== undefined);
      assert.deepEqual(
        s4u.map((q) => [q.s4u, q.status, q.client, q.server]),
        [
          ['s4u2self', 'ISSUE', kdc.brokerKerberosOnly.principal, kdc.brokerKerberosOnly.principal],
          [
            's4u2proxy',
            'EVIDENCE_TKT_NOT_FORWARDABLE',
            kdc.brokerKerberosOnly.principal,
            `${WSMAN}@${kdc.realm}`,
          ],
        ],
      );
    });

    it('refuses an unknown user (CLIENT_NOT_FOUND)', async () => {
      const mark = kdc.log().length;
      const r = await proxy('nobody', WSMAN);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /not found in Kerberos database/);
      assert.ok(
        since(mark).some(
          (q) => q.status === 'CLIENT_NOT_FOUND' && q.client === `nobody@${kdc.realm}`,
        ),
      );
    });

    it('issues tickets of at most five minutes, and keys of the four AES enctypes', async () => {
      const r = await proxy('alice', WSMAN);
      assert.equal(r.code, 0, r.stderr);
      const [ticket] = (await listCache(kdc, r.outCache)).tickets;
      assert.ok(ticket);
      const seconds = (ticket.expires.getTime() - ticket.start.getTime()) / 1000;
      assert.ok(seconds > 0 && seconds <= 300, `lifetime ${seconds} s`);

      for (const keytab of [kdc.broker.keytab, kdc.hostKeytabs['win1.bastion.test'] ?? '']) {
        const k = await runTool('/usr/bin/klist', ['-k', '-e', '-t', keytab], mitEnv(kdc));
        assert.equal(k.code, 0, k.stderr);
        for (const enctype of ENCTYPES)
          assert.ok(k.stdout.includes(`(${enctype})`), `${keytab}: ${enctype}`);
      }
      const win1 = await runTool(
        '/usr/bin/klist',
        ['-k', kdc.hostKeytabs['win1.bastion.test'] ?? ''],
        mitEnv(kdc),
      );
      for (const spn of kdc.delegateTo) assert.ok(win1.stdout.includes(`${spn}@${kdc.realm}`), spn);
    });

    it('answers over TCP and over UDP on its one port', async () => {
      const { port } = kdc.kdcAddress;
      const trace = async (krb5ConfPath: string): Promise<string> => {
        const env = { ...mitEnv({ krb5ConfPath }, cache()), KRB5_TRACE: join(kdc.dir, 'trace') };
        const r = await runTool(
          '/usr/bin/kinit',
          ['-k', '-t', kdc.broker.keytab, kdc.broker.principal],
          env,
        );
        assert.equal(r.code, 0, r.stderr);
        const text = readFileSync(join(kdc.dir, 'trace'), 'utf8');
        rmSync(join(kdc.dir, 'trace'));
        return text;
      };
      assert.match(
        await trace(kdc.krb5ConfPath),
        new RegExp(`Received answer .* from stream 127\\.0\\.0\\.1:${port}`),
      );
      // The clients' krb5.conf says TCP only; without that line MIT asks over UDP first.
      const udpConf = join(kdc.dir, 'krb5-udp.conf');
      writeFileSync(
        udpConf,
        readFileSync(kdc.krb5ConfPath, 'utf8').replace(/^.*udp_preference_limit.*$/m, ''),
      );
      assert.match(
        await trace(udpConf),
        new RegExp(`Received answer .* from dgram 127\\.0\\.0\\.1:${port}`),
      );
    });

    it('is down after stopKdc() (refused at once) and works again after restart()', async () => {
      const { port } = kdc.kdcAddress;
      await kdc.stopKdc();
      const down = await proxy('alice', WSMAN);
      assert.notEqual(down.code, 0);
      assert.match(down.stderr, /Cannot contact any KDC/);
      assert.equal(await connects({ host: '127.0.0.1', port }), false);

      await kdc.restart();
      assert.equal(kdc.kdcAddress.port, port);
      const mark = kdc.log().length;
      const up = await proxy('alice', WSMAN);
      assert.equal(up.code, 0, up.stderr);
      assert.ok(showsDelegation(kdc.log().slice(mark), { user: 'alice', spn: WSMAN }));
    });

    it("refuses a client whose clock is beyond the KDC's clockskew, and only then", async () => {
      // A client 200 s behind: within MIT's default allowance (300 s), beyond one of 60 s.
      const skewed = cache();
      assert.equal((await kinitKeytab(kdc, kdc.broker, skewed)).code, 0);
      skewCcacheClock(skewed, -200);
      try {
        const within = await proxy('alice', WSMAN, skewed);
        assert.equal(within.code, 0, within.stderr);

        await kdc.restart({ clockSkewSeconds: 60 });
        const mark = kdc.log().length;
        const beyond = await proxy('alice', WSMAN, skewed);
        assert.notEqual(beyond.code, 0);
        assert.match(beyond.stderr, /Clock skew too great/);
        assert.ok(
          // MIT 1.20 logs a TGS request's skew as PROCESS_TGS with the message.
          since(mark).some(
            (q) => q.request === 'TGS_REQ' && /Clock skew too great/.test(q.message ?? ''),
          ),
          kdc.log().slice(mark),
        );
        // The same KDC still serves a client whose clock is right.
        assert.equal((await proxy('alice', WSMAN)).code, 0);
      } finally {
        await kdc.restart({ clockSkewSeconds: 300 });
      }
    });

    it('leaves nothing running and no directory after stop()', async () => {
      const { port } = kdc.kdcAddress;
      const { dir } = kdc;
      await kdc.stop();
      assert.equal(existsSync(dir), false);
      assert.equal(await connects({ host: '127.0.0.1', port }), false);
    });

    it('kills its processes and removes its directory when the test process exits', async () => {
      // A child process starts a KDC and exits without stop(): the exit hook must clean up.
      const helper = new URL('../helpers/kdc.js', import.meta.url).href;
      const script = `const { startKdc } = await import(${JSON.stringify(helper)});
      const kdc = await startKdc();
      console.log(JSON.stringify({ dir: kdc.dir, port: kdc.kdcAddress.port }));
      process.exit(0);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise((resolve) => child.once('close', resolve));
      assert.equal(code, 0);
      const { dir, port } = JSON.parse(out) as { dir: string; port: number };
      assert.equal(existsSync(dir), false, 'directory removed');
      // SIGKILLed as the child exited: wait for the kernel to finish them off.
      assert.ok(
        await eventually(async () => !(await connects({ host: '127.0.0.1', port }))),
        'KDC gone',
      );
      assert.ok(
        await eventually(() => Promise.resolve(commandLines().every((c) => !c.includes(dir)))),
      );
    });
  },
);

/** Polls `check` (bounded) until it holds: for a process the kernel is still tearing down. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return true;
    await delay(10);
  }
  return false;
}

/** Every live process's command line (zombies have none). */
function commandLines(): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        return '';
      }
    });
}
