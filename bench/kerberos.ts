/**
 * Child process (pinned to one core): B3 for Kerberos (issue #12) against the real MIT KDC
 * of test/helpers/kdc.ts — one constrained-delegation service ticket per operation, the
 * broker's in-process client (AS with its keytab, S4U2Self, S4U2Proxy, KRB-CRED built, every
 * key zero-filled) beside MIT's own `kvno -U user -P spn` (bench/lib/kvno.ts) to the same
 * KDC in the same run. The two do not do the same work, and the figure says so: kvno reuses
 * a TGT obtained once (two TGS exchanges and a process start), while the broker meets the
 * KDC afresh at every invocation (an AS exchange more, no process start), by design (see
 * src/kerberos/client/acquire.ts).
 */
import { systemClock } from '../src/base/clock.js';
import { acquireServiceTicket } from '../src/kerberos/client/acquire.js';
import { readKeytab, type Keytab } from '../src/kerberos/keytab.js';
import { type Kdc, kdcMissing, startKdc } from '../test/helpers/kdc.js';
import { serveParent } from './lib/child.js';
import { kvnoBaselineTask } from './lib/kvno.js';
import { measure, type MicroTask } from './lib/measure.js';

export interface KerberosResult {
  readonly tasks: Record<string, MicroTask>;
}

let kdc: Kdc | undefined;
let keytab: Keytab | undefined;

async function run(args: unknown): Promise<KerberosResult> {
  const { quick } = args as { quick: boolean };
  const missing = kdcMissing();
  if (missing.length > 0) throw new Error(`the test KDC cannot run: ${missing.join(', ')}`);
  kdc = await startKdc();
  keytab = readKeytab(kdc.broker.keytab);
  const spn = kdc.delegateTo[0] ?? '';
  const request = {
    keytab,
    broker: kdc.broker.principal,
    user: `alice@${kdc.realm}`,
    spn,
  };
  const options = {
    kdcs: [kdc.kdcAddress],
    timeoutMs: 10_000,
    clock: systemClock,
    clockSkewMs: 300_000,
    windowMs: 300_000,
  };
  const tasks = await measure(
    {
      'raw.kvno.s4u2proxy': await kvnoBaselineTask(kdc, { user: 'alice', spn }),
      'kerberos.acquire': async () => {
        (await acquireServiceTicket(request, options)).dispose();
      },
    },
    { rounds: quick ? 3 : 5, timeMs: quick ? 300 : 1500 },
  );
  return { tasks };
}

serveParent({ run }, async () => {
  keytab?.dispose();
  await kdc?.stop();
});
