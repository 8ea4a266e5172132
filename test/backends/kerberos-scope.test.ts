/**
 * Issue #17 item 3, Kerberos: the kerberos backend's credential is a service ticket for
 * exactly one SPN (S4U2Proxy to the target's), so it is worth nothing to any other service.
 * Against the real MIT KDC and real MIT GSS-API acceptors (test/helpers/gss-acceptor.ts):
 * alice's ticket to WSMAN/win1 is accepted by win1's WSMAN acceptor, and refused by
 * win2's acceptor (another target the broker may also delegate to) and by win1's own HTTP
 * acceptor (another service of the same host). Controls: a ticket the same backend issues
 * for win2, and one for HTTP/win1, are accepted by those same acceptors, so the refusals
 * are the ticket's SPN and not a broken acceptor.
 *
 * What this does not cover: an AD computer account shares one key among all its SPNs, so
 * there a ticket's (unencrypted) sname can be rewritten to another SPN of the same host;
 * MIT gives each SPN its own key, which is what the same-host refusal here relies on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KerberosBackend } from '../../src/backends/kerberos/kerberos-backend.js';
import type { AcContext, KerberosCredential } from '../../src/credentials/types.js';
import { readKrbCred } from '../../src/kerberos/client/read-krb-cred.js';
import { readKeytab } from '../../src/kerberos/keytab.js';
import { startGssAcceptor, type GssAcceptor } from '../helpers/gss-acceptor.js';
import { DEFAULT_DELEGATE_TO, type Kdc, startKdc } from '../helpers/kdc.js';
import { presentTicket } from '../helpers/stolen-credential.js';
import { skipWithoutWinrmDouble } from '../helpers/winrm-double.js';

const WIN1 = 'win1.bastion.test';
const WIN2 = 'win2.bastion.test';

describe('a kerberos credential is for exactly one SPN', { skip: skipWithoutWinrmDouble() }, () => {
  let kdc: Kdc;
  const acceptors: GssAcceptor[] = [];
  const backends: KerberosBackend[] = [];
  before(async () => {
    kdc = await startKdc({ delegateTo: [...DEFAULT_DELEGATE_TO, `WSMAN/${WIN2}`] });
  });
  after(async () => {
    for (const a of acceptors) a.stop();
    for (const b of backends) await b.close();
    await kdc?.stop();
  });

  /** The backend, allowed both hosts; `service` names the SPN's service part. */
  function backend(service = 'WSMAN'): KerberosBackend {
    const b = new KerberosBackend({
      principal: kdc.broker.principal,
      keytab: readKeytab(kdc.broker.keytab),
      kdcs: [kdc.kdcAddress],
      delegateTo: [...DEFAULT_DELEGATE_TO, `WSMAN/${WIN2}`],
      service,
    });
    backends.push(b);
    return b;
  }

  async function ticket(target: string, service = 'WSMAN'): Promise<KerberosCredential> {
    const ac: AcContext = {
      ac_id: 'ac-krb-scope',
      principal_did: 'did:key:z6MkTestPrincipal',
      capability_mask: 2,
      capabilities: ['exec'],
      accord_template: 'win',
      connector: 'winrm',
      target,
      expires_at: Math.floor(Date.now() / 1000) + 600,
      kerberos_principal: `alice@${kdc.realm}`,
    };
    return backend(service).resolve('kerberos', target, ac);
  }

  /** The acceptor's answer to an AP-REQ made from the credential alone, as winrm makes it. */
  async function present(credential: KerberosCredential, acceptor: GssAcceptor) {
    const read = readKrbCred(credential.ticket);
    try {
      return await presentTicket(read, acceptor);
    } finally {
      read.sessionKey.key.dispose();
    }
  }

  function acceptor(host: string, principal?: string): GssAcceptor {
    const a = startGssAcceptor(kdc, host, principal && `${principal}@${kdc.realm}`);
    acceptors.push(a);
    return a;
  }

  it('WSMAN/win1: accepted by win1 WSMAN, refused by win2 and by win1 HTTP', async () => {
    const credential = await ticket(WIN1);
    try {
      assert.equal(credential.servicePrincipal, `WSMAN/${WIN1}@${kdc.realm}`);
      const own = await present(credential, acceptor(WIN1, `WSMAN/${WIN1}`));
      assert.equal(own['initiator'], kdc.users.alice.principal);
      // Another target: its acceptor holds no key the ticket was sealed under.
      assert.deepEqual(await present(credential, acceptor(WIN2)), { error: 'auth' });
      // Another service of the same host: its own key, not WSMAN's.
      assert.deepEqual(await present(credential, acceptor(WIN1, `HTTP/${WIN1}`)), {
        error: 'auth',
      });
    } finally {
      credential.ticket.dispose();
    }
  });

  it('controls: tickets the backend issues for win2 and HTTP/win1 are accepted there', async () => {
    const win2 = await ticket(WIN2);
    const http = await ticket(WIN1, 'HTTP');
    try {
      const onWin2 = await present(win2, acceptor(WIN2));
      assert.equal(onWin2['initiator'], kdc.users.alice.principal);
      const onHttp = await present(http, acceptor(WIN1, `HTTP/${WIN1}`));
      assert.equal(onHttp['initiator'], kdc.users.alice.principal);
    } finally {
      win2.ticket.dispose();
      http.ticket.dispose();
    }
  });
});
