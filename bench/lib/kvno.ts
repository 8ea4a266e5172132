/**
 * The baseline of the Kerberos ticket-acquisition figure (issue #12): a raw
 * `kvno -U USER -P SPN` — MIT's own S4U2Self + S4U2Proxy client, one process per ticket —
 * against the test KDC (test/helpers/kdc.ts) that the backend is measured against in the
 * same run. The broker's TGT is obtained once beforehand, as the backend holds its own; each
 * operation is then the two TGS exchanges plus the process start MIT's CLI costs. The
 * ccaches are bench-only files in the KDC's temporary directory.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Kdc } from '../../test/helpers/kdc.js';
import { kinitKeytab, kvnoForUser } from '../../test/helpers/kdc-cli.js';
import { type Task } from './measure.js';

/** A tinybench task: one constrained-delegation ticket for `user` to `spn` by raw kvno. */
export async function kvnoBaselineTask(
  kdc: Kdc,
  options: { readonly user?: string; readonly spn?: string } = {},
): Promise<Task> {
  const ccache = join(kdc.dir, 'bench-broker.ccache');
  const outCache = join(kdc.dir, 'bench-out.ccache');
  const tgt = await kinitKeytab(kdc, kdc.broker, ccache);
  if (tgt.code !== 0) throw new Error(`kinit of the broker failed: ${tgt.stderr}`);
  const user = options.user ?? 'alice';
  const spn = options.spn ?? kdc.delegateTo[0] ?? '';
  return async () => {
    const r = await kvnoForUser(kdc, { ccache, user, spn, outCache, proxy: true });
    if (r.code !== 0) throw new Error(`kvno -U ${user} -P ${spn} failed: ${r.stderr}`);
    rmSync(outCache, { force: true });
  };
}
