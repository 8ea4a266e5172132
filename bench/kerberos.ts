/**
 * Child process (pinned to one core): B3 for Kerberos (issue #12) against the real MIT KDC
 * of test/helpers/kdc.ts — one constrained-delegation service ticket per operation:
 * `KerberosBackend.resolve('kerberos')` + dispose (its checks, then the in-process client: AS
 * with its keytab, S4U2Self, S4U2Proxy, the KRB-CRED built, every other key zero-filled)
 * beside MIT's own `kvno -U user -P spn` (bench/lib/kvno.ts) to the same KDC in the same run. The two do not do the same work, and the figure says so: kvno reuses
 * a TGT obtained once (two TGS exchanges and a process start), while the broker meets the
 * KDC afresh at every invocation (an AS exchange more, no process start), by design (see
 * src/kerberos/client/acquire.ts).
 */
import { KerberosBackend } from '../src/backends/kerberos/kerberos-backend.js';
import { type AcContext, disposeCredential } from '../src/credentials/types.js';
import { readKeytab } from '../src/kerberos/keytab.js';
import { type Kdc, kdcMissing, startKdc } from '../test/helpers/kdc.js';
import { serveParent } from './lib/child.js';
import { kvnoBaselineTask } from './lib/kvno.js';
import { measure, type MicroTask } from './lib/measure.js';

export interface KerberosResult {
  readonly tasks: Record<string, MicroTask>;
}

let kdc: Kdc | undefined;
let backend: KerberosBackend | undefined;
const TARGET = 'win1.bastion.test';

async function run(args: unknown): Promise<KerberosResult> {
  const { quick } = args as { quick: boolean };
  const missing = kdcMissing();
  if (missing.length > 0) throw new Error(`the test KDC cannot run: ${missing.join(', ')}`);
  kdc = await startKdc();
  const spn = `WSMAN/${TARGET}`;
  const kerberos = new KerberosBackend({
    principal: kdc.broker.principal,
    keytab: readKeytab(kdc.broker.keytab),
    kdcs: [kdc.kdcAddress],
    delegateTo: kdc.delegateTo,
  });
  backend = kerberos;
  const ac: AcContext = {
    ac_id: 'bench',
    principal_did: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
    capability_mask: 2,
    capabilities: ['exec'],
    accord_template: 'bench',
    connector: 'winrm',
    target: TARGET,
    expires_at: Math.floor(Date.now() / 1000) + 3600,
    kerberos_principal: kdc.users.alice.principal,
  };
  const tasks = await measure(
    {
      'raw.kvno.s4u2proxy': await kvnoBaselineTask(kdc, { user: 'alice', spn }),
      'kerberos.resolve': async () => {
        disposeCredential(await kerberos.resolve('kerberos', TARGET, ac));
      },
    },
    { rounds: quick ? 3 : 5, timeMs: quick ? 300 : 1500 },
  );
  return { tasks };
}

serveParent({ run }, async () => {
  await backend?.close();
  await kdc?.stop();
});
