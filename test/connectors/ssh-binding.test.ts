/**
 * SSH certificates bound to one invocation (issue #17 item 1), against a real sshd: the
 * certificate forces the approved command, byte for byte as the connector sends it, may be
 * used from the broker's address only, and carries no extension. A copy taken at the moment
 * of use (a test-only capture) runs the forced command whatever it asks for, as sshd's log
 * shows, and is refused from another source address (127.0.0.2). A backend that drops the
 * binding is refused before any connection; and the connector, at the moment of use,
 * refuses a certificate not bound to the very command it is about to send.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DevBackend } from '../../src/backends/dev/dev-backend.js';
import { BrokerError } from '../../src/client/client.js';
import { SshConnector, sshCommandLine } from '../../src/connectors/ssh/connector.js';
import type { CredentialBinding } from '../../src/credentials/binding.js';
import { sshCertificateBinding } from '../../src/credentials/binding.js';
import { KnownHosts } from '../../src/transports/known-hosts.js';
import { acFor } from '../helpers/backends.js';
import type { SshCertCredential } from '../../src/credentials/types.js';
import { parseEd25519Certificate } from '../../src/ssh/certificate.js';
import { type ConnectorBroker, startConnectorBroker } from '../helpers/connectors.js';
import { forcedLines, runStolen, steal, type StolenSsh } from '../helpers/stolen-ssh.js';

const HOST = 'db1.internal.test';
const ac = () => acFor(HOST, Date.now(), { connector: 'ssh', ssh_principals: ['ops'] });

describe('SSH certificates bound to the invocation (real sshd)', () => {
  let b: ConnectorBroker;
  let stolen: StolenSsh | undefined;
  before(async () => {
    b = await startConnectorBroker({ sshSourceAddresses: ['127.0.0.1/32'] });
    b.spy.unsafeCapture = (c) => {
      if (c.type !== 'ssh_cert') return;
      stolen?.key.fill(0);
      stolen = steal(c);
    };
  });
  after(async () => {
    stolen?.key.fill(0);
    await b?.close();
  });

  const argv = ['echo', "it's bound"];
  const approved = sshCommandLine({ argv });

  it('runs the approved command with a certificate that forces exactly it, from the broker only, with no extension', async () => {
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    const r = await b.client().invoke('ssh', ac.token, {
      target: '127.0.0.1',
      operation: { argv },
    });
    assert.equal(r.result.stdout, "it's bound\n");
    assert.equal(approved, `echo 'it'\\''s bound'`, 'the argv as one shell command line');
    const cert = parseEd25519Certificate((b.spy.issued.at(-1) as SshCertCredential).certificate);
    assert.deepEqual(cert.criticalOptions, {
      'force-command': approved,
      'source-address': '127.0.0.1/32',
    });
    assert.deepEqual(cert.extensions, [], 'no pty, no forwarding, no user rc');
    assert.equal(
      forcedLines(b.sshd.log(), approved),
      1,
      "sshd ran it as the certificate's command",
    );
  });

  it('a stolen copy asking for another command runs the forced one instead, and sshd records it', async () => {
    assert.ok(stolen, 'the test hook captured the credential');
    const before = forcedLines(b.sshd.log(), approved);
    const run = await runStolen(stolen, {
      port: b.sshd.port,
      username: b.user,
      command: 'echo stolen; id',
    });
    assert.deepEqual(run, { ran: true, stdout: "it's bound\n", exitCode: 0 }, 'the forced output');
    assert.equal(
      forcedLines(b.sshd.log(), approved),
      before + 1,
      "sshd's log shows the forced command",
    );
    assert.doesNotMatch(b.sshd.log(), /echo stolen/, 'the command asked for never ran');
  });

  it('a stolen copy used from another source address (127.0.0.2) is refused', async () => {
    assert.ok(stolen);
    const run = await runStolen(stolen, {
      port: b.sshd.port,
      username: b.user,
      command: approved,
      localAddress: '127.0.0.2',
    });
    assert.deepEqual(run, { ran: false, level: 'client-authentication' });
    assert.match(
      b.sshd.log(),
      /valid certificate but not from a permitted source address \(127\.0\.0\.2\)/,
      "sshd refused it for its source, by the certificate's source-address",
    );
  });

  it('a backend that drops the binding: its certificate is refused unused, revoked and wiped', async () => {
    const ac = await b.ac('ssh-ops', 'ssh', '127.0.0.1');
    // The dev backend asked without the binding: a certificate with OpenSSH's defaults.
    let unbound: SshCertCredential | undefined;
    b.spy.next = async () => {
      unbound = await b.dev.resolve('ssh_cert', '127.0.0.1', acOf(b, ac.id));
      return unbound;
    };
    // The resolver goes on to the configured dev backend, whose CA this sshd does not trust.
    await assert.rejects(
      b.client().invoke('ssh', ac.token, { target: '127.0.0.1', operation: { argv } }),
      (e: unknown) => e instanceof BrokerError && e.code === 'ssh_auth_failed',
    );
    assert.ok(unbound);
    const serial = parseEd25519Certificate(unbound.certificate).serial.toString();
    assert.ok(
      b.spy.revoked.some((c) => c.id === serial),
      'the resolver revoked the unbound certificate',
    );
    assert.equal(unbound.privateKey.disposed, true, 'and wiped it');
    assert.doesNotMatch(b.sshd.log(), new RegExp(`serial ${serial}`), 'sshd never saw it');
  });
});

describe('the SSH connector checks the binding at the moment of use', () => {
  let dev: DevBackend;
  before(async () => {
    dev = await DevBackend.create();
  });
  const op = { argv: ['echo', 'a b'] };
  const connector = (sourceAddresses?: string[]) =>
    new SshConnector({
      knownHosts: () => KnownHosts.parse(''),
      // Nothing listens there: a certificate that passed would fail to connect instead.
      port: 9,
      hosts: new Map(),
      sourceAddresses,
    });

  async function runWith(c: SshConnector, binding: CredentialBinding | undefined) {
    const credential = await dev.resolve('ssh_cert', HOST, ac(), undefined, binding);
    try {
      return await c.run({
        credential,
        target: HOST,
        operation: op,
        acContext: ac(),
        limits: { maxOutputBytes: 1024, timeoutMs: 1000 },
        signal: new AbortController().signal,
      });
    } finally {
      credential.privateKey.dispose();
    }
  }

  const scopeInvalid = (err: unknown): boolean =>
    (err as { code?: string }).code === 'credential_scope_invalid';

  it('binds the command it sends: the certificate must force exactly that command line', async () => {
    const c = connector(['10.0.0.5/32']);
    assert.deepEqual(c.credentialBinding(op), {
      sshCommand: sshCommandLine(op),
      sshSourceAddresses: ['10.0.0.5/32'],
    });
    const sources = ['10.0.0.5/32'];
    await assert.rejects(runWith(c, undefined), scopeInvalid, 'an unbound certificate');
    await assert.rejects(
      runWith(c, { sshCommand: 'id', sshSourceAddresses: sources }),
      scopeInvalid,
      'a certificate forcing another command',
    );
    await assert.rejects(
      runWith(c, { sshCommand: sshCommandLine(op) }),
      scopeInvalid,
      'a certificate without the source addresses',
    );
    // Bound as the connector asks: past every check, it fails only at connecting.
    await assert.rejects(
      runWith(c, c.credentialBinding(op)),
      (err: unknown) => (err as { code?: string }).code === 'ssh_connect_failed',
    );
  });

  it('without source_addresses configured, the certificate carries no source-address', () => {
    const binding = connector().credentialBinding(op);
    assert.deepEqual(sshCertificateBinding(binding)?.criticalOptions, {
      'force-command': sshCommandLine(op),
    });
  });
});

/** The AC context the dev backend needs to sign for the test's login. */
function acOf(b: ConnectorBroker, acId: string) {
  return {
    ac_id: acId,
    principal_did: b.alice.did,
    capability_mask: 0,
    capabilities: ['exec'],
    accord_template: 'ssh-ops',
    connector: 'ssh',
    target: '127.0.0.1',
    expires_at: Math.floor(Date.now() / 1000) + 600,
    ssh_principals: [b.user],
  };
}
