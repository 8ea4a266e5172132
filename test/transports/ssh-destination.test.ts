/**
 * Where the SSH transport may connect: a target name is resolved once and refused (with
 * `ssh_destination_refused`, nothing connected) when any answer is a metadata address; a
 * name answering loopback reaches the real sshd over the injected connect, at the one
 * answer, with known_hosts checked against the target's name. The connect function refuses
 * anything off loopback and records every address it is asked for, so a regression fails
 * the test instead of reaching a real metadata service.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { DevBackend } from '../../src/backends/dev/dev-backend.js';
import { BastionError } from '../../src/base/errors.js';
import { disposeCredential, type SshCertCredential } from '../../src/credentials/types.js';
import { KnownHosts } from '../../src/transports/known-hosts.js';
import { sshExec, type SshExecOptions } from '../../src/transports/ssh/exec.js';
import { acFor } from '../helpers/backends.js';
import { fakeDns, loopbackOnlyConnect } from '../helpers/offhost.js';
import { type Sshd, SSHD_USER, startSshd } from '../helpers/sshd.js';

const TARGET = 'db1.bastion.test';
const LIMITS = { maxOutputBytes: 1 << 20, timeoutMs: 20_000 };

let sshd: Sshd;
let dev: DevBackend;
const issued: SshCertCredential[] = [];

before(async () => {
  dev = await DevBackend.create();
  sshd = await startSshd({
    caPublicKeys: [dev.caPublicKey()],
    principals: { [SSHD_USER]: [SSHD_USER] },
  });
});
after(async () => {
  await sshd?.stop();
});
afterEach(() => {
  for (const c of issued.splice(0)) disposeCredential(c);
});

async function exec(over: Partial<SshExecOptions> & Pick<SshExecOptions, 'address'>) {
  const ac = acFor(TARGET, Date.now(), { connector: 'ssh', ssh_principals: [sshd.user] });
  const credential = await dev.resolve('ssh_cert', TARGET, ac);
  issued.push(credential);
  // known_hosts names the target, never the address it resolved to.
  const knownHosts = KnownHosts.parse(sshd.knownHostsText.replaceAll('127.0.0.1', TARGET));
  return sshExec({
    port: sshd.port,
    hostName: TARGET,
    username: sshd.user,
    credential,
    knownHosts,
    command: 'echo pinned',
    limits: LIMITS,
    ...over,
  });
}

const refused = (err: unknown): boolean => {
  assert.ok(err instanceof BastionError, String(err));
  assert.equal(err.code, 'ssh_destination_refused');
  assert.equal(err.status, 403);
  return true;
};

describe('SSH transport: the pinned destination', () => {
  it('reaches sshd through a name answering loopback, resolved once, over the injected connect', async () => {
    const lookup = fakeDns({ 'db1.internal': '127.0.0.1' });
    const connect = loopbackOnlyConnect();
    const result = await exec({ address: 'db1.internal', lookup, connect });
    assert.equal(result.exit_code, 0);
    assert.equal(result.stdout, 'pinned\n');
    assert.deepEqual(lookup.calls, ['db1.internal']);
    assert.deepEqual(connect.attempts, ['127.0.0.1']);
  });

  it('refuses a name resolving to a metadata address, alone or among good answers: nothing connected', async () => {
    const lookup = fakeDns({
      'meta.internal': '169.254.169.254',
      'mixed.internal': ['127.0.0.1', '169.254.169.254'],
      'v6.internal': 'fd00:ec2::254',
    });
    const connect = loopbackOnlyConnect();
    for (const address of ['meta.internal', 'mixed.internal', 'v6.internal']) {
      await assert.rejects(exec({ address, lookup, connect }), refused);
    }
    assert.deepEqual(lookup.calls, ['meta.internal', 'mixed.internal', 'v6.internal']);
    assert.deepEqual(connect.attempts, []);
  });

  it('would be caught connecting to a metadata address: the double records it and refuses', async () => {
    // An IP literal is used as is (an operator or an accord named it exactly), so it is the
    // one way to reach the connect function with that address: the refusal above is what
    // keeps a DNS answer from getting here.
    const lookup = fakeDns({});
    const connect = loopbackOnlyConnect();
    await assert.rejects(exec({ address: '169.254.169.254', lookup, connect }), (err) => {
      assert.ok(err instanceof BastionError);
      return err.code === 'ssh_connect_failed';
    });
    assert.deepEqual(connect.attempts, ['169.254.169.254']);
    assert.deepEqual(lookup.calls, [], 'a literal is not resolved');
  });

  it('maps a name that does not resolve to ssh_connect_failed, nothing connected', async () => {
    const connect = loopbackOnlyConnect();
    await assert.rejects(
      exec({ address: 'nowhere.internal', lookup: fakeDns({}), connect }),
      (err) => err instanceof BastionError && err.code === 'ssh_connect_failed',
    );
    assert.deepEqual(connect.attempts, []);
  });
});
