/**
 * The zero-credential proof's last part (issue #17): what a stolen credential is worth.
 * In the proof's world, each kind of credential the broker uses is copied at the moment of
 * use — never by the broker keeping a copy: the probe reports each SSH key, its certificate
 * and each DPoP key straight from their Secrets, and the peers' own recordings give the
 * tokens, grants, STS replies and Kerberos tickets — and then used from outside the broker,
 * as a thief holding the copy would, against the real peer: for another command, target,
 * source or key. Each invocation here is a fresh one (what its peer accepts is the positive
 * control), made after the proof's scans, so that no copy is older than its short life:
 * a Bascule grant lives 60 s, and a refusal for expiry would prove nothing about binding.
 *
 * What is refused, and by whom:
 * - SSH (dev and vault certificates): sshd runs the certificate's forced command whatever
 *   the thief asks for, and refuses it from 127.0.0.2 (its source-address);
 * - the DPoP-bound oauth_exchange token: the API refuses it as Bearer, without a proof, with
 *   a proof of another key and with the broker's own proof replayed — and takes it with a
 *   fresh proof of the bound key (the control; only the probe has that key);
 * - the JWT-SVID: the SPIRE agent refuses it for any audience but its own, as does a JOSE
 *   verifier with the trust domain's keys; at its own API it is a bearer token and works
 *   until it expires (the control, and the honest limit);
 * - the Kerberos ticket with its session key: MIT's acceptor for another SPN of the same
 *   host, and for another host, refuses it; its own SPN's acceptor takes it (the control);
 * - the Bascule grant: the runtime refuses it replayed, for any command (single use);
 * - the STS session: moto refuses it once the broker has revoked it (the deny policy on the
 *   role). Not shown by a refusal: moto does not apply session policies, so the session
 *   reading another object is NOT refused here (that the session policy would refuse it is
 *   moto's IAM evaluator's word, test/backends/aws-sts-scope.test.ts); and moto applies the
 *   revoke policy without its condition (it would deny later sessions too), so only that
 *   the revocation denies this session is shown, not that it spares newer ones.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify } from 'jose';
import { BastionClient } from '../../src/client/client.js';
import type { ConnectorResult } from '../../src/connectors/connector.js';
import { sshCommandLine } from '../../src/connectors/ssh/connector.js';
import { Secret } from '../../src/credentials/secret.js';
import { decodeTicket } from '../../src/kerberos/messages/ticket.js';
import { parsePrincipal } from '../../src/kerberos/principal.js';
import { parseEd25519Certificate } from '../../src/ssh/certificate.js';
import { httpRequest } from '../../src/transports/http/request.js';
import { sigv4Signer } from '../../src/transports/http/sigv4.js';
import { exec } from '../bascule/fixtures.js';
import { formOf, xmlText } from '../helpers/aws-proxy.js';
import { startGssAcceptor } from '../helpers/gss-acceptor.js';
import { OUTSIDE_SPN } from '../helpers/kdc.js';
import {
  BUCKET,
  MOTO_REGION,
  motoPolicyDecisions,
  OBJECT_KEY,
  OBJECT_TEXT,
  REVOKE_POLICY,
} from '../helpers/moto.js';
import type { Probe } from '../helpers/probe.js';
import { SSHD_USER } from '../helpers/sshd.js';
import { dpopAttempts, dpopKeyOf, presentTicket } from '../helpers/stolen-credential.js';
import { forcedLines, runStolen } from '../helpers/stolen-ssh.js';
import { WINDOWS_TARGET, WINRM_ACCORD } from '../helpers/windows-world.js';
import {
  API_ACCORD,
  AWS_ACCORD,
  type ProofWorld,
  SPIRE_ID,
  SSH_SOURCE,
  VAULT_SSH_TARGET,
} from './world.js';

/** Declares the stolen-credential tests, to run after the proof's scans, in its world. */
export function stolenCredentialTests(getWorld: () => ProofWorld): void {
  describe('a credential stolen at the moment of use is refused by the real peer', () => {
    let world: ProofWorld;
    let probe: Probe;
    let client: BastionClient;
    before(() => {
      world = getWorld();
      probe = world.broker.probe as Probe;
      client = new BastionClient({ url: world.broker.url, key: world.alice });
    });

    /** One invocation by the broker, under an AC of its own: the credential's own use. */
    async function invoke<R>(
      accord: string,
      connector: string,
      target: string,
      operation: Record<string, unknown>,
    ): Promise<R & ConnectorResult> {
      const r = await client.authorize({
        accord,
        connector,
        target,
        capabilities: [connector === 'http' ? 'read' : 'exec'],
        duration_seconds: 300,
      });
      assert.equal(r.status, 'active');
      if (r.status !== 'active') throw new Error('unreachable');
      return (await client.invoke<R & ConnectorResult>(connector, r.ac, { target, operation }))
        .result;
    }

    for (const [accord, target] of [
      ['ssh-ops', '127.0.0.1'],
      ['ssh-vault', VAULT_SSH_TARGET],
    ] as const) {
      it(`SSH (${accord}): the copied key and certificate run only the forced command, and only from the broker's address`, async () => {
        const n = probe.certificates.length;
        const argv = ['echo', `stolen from ${accord}`];
        const own = await invoke<{ stdout: string }>(accord, 'ssh', target, { argv });
        assert.equal(own.stdout, `stolen from ${accord}\n`);
        const { key, certificate } = await probe.sshCredential(n);
        const stolen = { key, certificate };
        const approved = sshCommandLine({ argv });
        assert.deepEqual(parseEd25519Certificate(certificate).criticalOptions, {
          'force-command': approved,
          'source-address': SSH_SOURCE,
        });
        const { sshd } = world;
        const forced = forcedLines(sshd.log(), approved);
        const thief = `thief-${randomBytes(6).toString('hex')}`;
        const asked = `echo ${thief}; id`;
        const run = await runStolen(stolen, {
          port: sshd.port,
          username: SSHD_USER,
          command: asked,
        });
        // It logs in (the credential is live: the control) — and runs the approved command.
        assert.deepEqual(run, { ran: true, stdout: own.stdout, exitCode: 0 }, 'the forced output');
        assert.equal(forcedLines(sshd.log(), approved), forced + 1, "sshd's log: forced");
        assert.ok(!sshd.log().includes(thief), 'what it asked for never ran');
        const elsewhere = await runStolen(stolen, {
          port: sshd.port,
          username: SSHD_USER,
          command: approved,
          localAddress: '127.0.0.2',
        });
        assert.deepEqual(elsewhere, { ran: false, level: 'client-authentication' });
        assert.match(
          sshd.log(),
          /valid certificate but not from a permitted source address \(127\.0\.0\.2\)/,
        );
      });
    }

    it('oauth_exchange: the DPoP-bound token is refused as Bearer, without a proof, with another key’s or the replayed proof', async () => {
      const n = probe.dpopSeeds.length;
      const api = world.apis.oauth_exchange;
      const own = await invoke<{ status: number }>(API_ACCORD.oauth_exchange, 'http', api, {
        method: 'GET',
        path: '/data',
      });
      assert.equal(own.status, 200, 'the API took it from the broker, with its proof');
      const seen = world.tokens.oauth_exchange.at(-1);
      assert.ok(seen?.dpop !== undefined, 'sent as DPoP, with a proof');
      const key = dpopKeyOf(await probe.dpopSeed(n));
      try {
        assert.deepEqual(decodeJwt(seen.token)['cnf'], { jkt: key.jkt }, 'bound to that key');
        const attempts = await dpopAttempts(`${api}/data`, seen.token, seen.dpop, key);
        assert.deepEqual(attempts, {
          bearer: 401,
          noProof: 401,
          otherKey: 401,
          replayedProof: 401,
          // The control: the same token with a fresh proof of the bound key.
          boundKey: 200,
        });
      } finally {
        key.seed.dispose();
      }
    });

    it('spire: the JWT-SVID is refused for any other audience, by the agent and by a verifier of the trust domain', async (t) => {
      const spire = world.spire;
      if (spire === undefined) return t.skip('SPIRE is not in this proof');
      const api = world.apis.spire;
      const own = await invoke<{ status: number }>(API_ACCORD.spire, 'http', api, {
        method: 'GET',
        path: '/data',
      });
      assert.equal(own.status, 200);
      const token = world.tokens.spire.at(-1)?.token ?? '';
      const other = 'spiffe://example.org/another-target';
      await assert.rejects(spire.workload.validate(other, token), /INVALID_ARGUMENT/);
      await assert.rejects(spire.workload.validate(api, token), /INVALID_ARGUMENT/);
      const jwks = createLocalJWKSet(await spire.workload.jwks());
      await assert.rejects(
        jwtVerify(token, jwks, { audience: other }),
        errors.JWTClaimValidationFailed,
      );
      // Controls: for its own audience the agent validates it — and a JWT-SVID is a bearer
      // token: at its own API it works, from anywhere, until it expires (minutes).
      assert.equal(await spire.workload.validate(spire.audience, token), SPIRE_ID);
      const replay = await fetch(`${api}/data`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(replay.status, 200);
    });

    it('kerberos: the ticket and its session key are refused by another SPN’s acceptor and another host’s', async (t) => {
      const windows = world.windows;
      if (windows === undefined) return t.skip('Kerberos is not in this proof');
      const own = await invoke<{ stdout: string }>(WINRM_ACCORD, 'winrm', WINDOWS_TARGET, {
        argv: ['whoami'],
      });
      assert.equal(own.stdout.trim(), 'bastion\\alice');
      const wire = windows.secrets();
      const ticket = wire.tickets.at(-1) ?? Buffer.alloc(0);
      const copied = wire.sessionKeys.at(-1);
      assert.ok(copied !== undefined);
      const sessionKey = { enctype: copied.enctype, key: Secret.copyOf(copied.key) };
      const { kdc } = windows;
      const spn = decodeTicket(ticket).sname.components.join('/');
      const host = OUTSIDE_SPN.split('/')[1] ?? '';
      const sameHostOther = ['WSMAN', 'HTTP', 'host']
        .map((s) => `${s}/${WINDOWS_TARGET}`)
        .find((s) => s !== spn);
      const acceptors = {
        own: startGssAcceptor(kdc, WINDOWS_TARGET, `${spn}@${kdc.realm}`),
        otherService: startGssAcceptor(kdc, WINDOWS_TARGET, `${sameHostOther}@${kdc.realm}`),
        otherHost: startGssAcceptor(kdc, host),
      };
      try {
        const input = { ticket, sessionKey, client: parsePrincipal(windows.user) };
        assert.deepEqual(await presentTicket(input, acceptors.otherService), { error: 'auth' });
        assert.deepEqual(await presentTicket(input, acceptors.otherHost), { error: 'auth' });
        // The control: its own SPN's acceptor takes the same copy, as alice.
        const accepted = await presentTicket(input, acceptors.own);
        assert.equal(accepted['initiator'], windows.user);
      } finally {
        for (const a of Object.values(acceptors)) a.stop();
        sessionKey.key.dispose();
      }
    });

    it('bascule: the grant is refused replayed, for any command (single use)', async () => {
      const n = world.grants.length;
      const own = await invoke<{ stdout: string }>('bascule-ops', 'bascule', 'db1.internal.test', {
        argv: ['echo', 'granted once'],
      });
      assert.equal(own.stdout, 'granted once\n', 'its one use, by the broker');
      assert.equal(world.grants.length, n + 1);
      const grant = world.grants.at(-1) ?? '';
      // Straight to the runtime's socket, past the recording proxy, well within its 60 s.
      const runtime = `unix:${join(world.dir, 'bascule.sock')}`;
      for (const argv of [['echo', 'granted once'], ['id']]) {
        const again = await exec(runtime, grant, argv);
        assert.equal(again.status, 401);
        assert.equal(again.body.error.code, 'bascule_grant_replayed');
      }
    });

    it('aws_sts: the session is refused by moto once the broker has revoked it (see the limits above)', async (t) => {
      const aws = world.aws;
      if (aws === undefined) return t.skip('moto is not in this proof');
      const n = aws.sts.seen.length;
      const path = `/${BUCKET}/${OBJECT_KEY}`;
      const own = await invoke<{ status: number; body: string }>(AWS_ACCORD, 'http', aws.target, {
        method: 'GET',
        path,
      });
      assert.deepEqual([own.status, own.body], [200, OBJECT_TEXT]);
      assert.ok(await aws.moto.rolePolicy(REVOKE_POLICY), 'the broker revoked it at discard');
      const issued = aws.sts.seen.slice(n).find((r) => formOf(r.body)['Action'] === 'AssumeRole');
      assert.ok(issued !== undefined);
      const session = {
        accessKeyId: xmlText(issued.reply, 'AccessKeyId') ?? '',
        secretAccessKey: Secret.fromString(xmlText(issued.reply, 'SecretAccessKey') ?? ''),
        sessionToken: Secret.fromString(xmlText(issued.reply, 'SessionToken') ?? ''),
      };
      const get = (key: string) =>
        httpRequest({
          base: aws.target,
          method: 'GET',
          path: `/${BUCKET}/${key}`,
          sign: sigv4Signer(session, { region: MOTO_REGION, service: 's3' }),
          limits: { maxOutputBytes: 65536, timeoutMs: 10_000 },
        });
      try {
        const revoked = await get(OBJECT_KEY);
        assert.equal(revoked.status, 403, 'moto refuses the revoked session');
        assert.match(revoked.body, /AccessDenied/);
        // What the session policy says of another object and action: moto's evaluator's
        // word on the policy sent, since moto does not apply it to requests.
        const policy = formOf(issued.body)['Policy'] ?? '';
        const arn = (key: string) => `arn:aws:s3:::${BUCKET}/${key}`;
        assert.deepEqual(
          motoPolicyDecisions(policy, [
            ['s3:GetObject', arn(OBJECT_KEY)],
            ['s3:GetObject', arn('other.txt')],
            ['s3:PutObject', arn(OBJECT_KEY)],
          ]),
          ['PERMITTED', 'NEUTRAL', 'NEUTRAL'],
        );
        // The control, and the limit, with the revocation gone: the copy is a live session
        // (the refusal was the revocation's), and moto lets it ask for another object.
        await aws.moto.forgetRevocations();
        const unrevoked = await get(OBJECT_KEY);
        assert.deepEqual([unrevoked.status, unrevoked.body], [200, OBJECT_TEXT]);
        assert.equal((await get('other.txt')).status, 404, 'moto: no such key, not AccessDenied');
      } finally {
        session.secretAccessKey.dispose();
        session.sessionToken.dispose();
      }
    });
  });
}
