/**
 * `kind: kerberos`: Kerberos service tickets from a KDC (MIT or Active Directory) through
 * constrained delegation (S4U2Self + S4U2Proxy), for the user an accord maps a principal
 * to (`kerberos_principals`). Settings: the broker's own service principal and its keytab
 * (read once, here, at start: the broker's identity, like an OAuth client secret), the
 * KDCs, the SPNs it may delegate to, how a target's SPN is named, the targets it issues
 * for, the timeout and the clock-skew allowance.
 */
import { z } from 'zod';
import { BastionError, ConfigError } from '../../base/errors.js';
import { backendId, checked, type ConfigContext, duration, filePath } from '../../base/fields.js';
import { targetPatternField } from '../../governance/target-field.js';
import { targetHost } from '../../governance/targets.js';
import { type Keytab, readKeytab } from '../../kerberos/keytab.js';
import { parsePrincipal, samePrincipal } from '../../kerberos/principal.js';
import { defineBackendPlugin } from '../plugin.js';
import { DEFAULT_CLOCK_SKEW_MS, DEFAULT_SERVICE, KerberosBackend } from './kerberos-backend.js';
import { isServiceClass, isServicePrincipal, isSpn, parseKdcAddress } from './names.js';

const SPN_WHY = 'must be an SPN service/host (no realm, no wildcard, never krbtgt)';

const spn = checked((value) => (isSpn(value) ? { ok: true, value } : { ok: false, why: SPN_WHY }));

const principal = checked((value) =>
  isServicePrincipal(value)
    ? { ok: true, value }
    : { ok: false, why: "must be the broker's service principal service/host@REALM" },
);

const kdc = checked((value) => {
  const address = parseKdcAddress(value);
  return address !== undefined
    ? { ok: true, value: address }
    : { ok: false, why: 'must be host:port, [IPv6]:port or host (port 88)' };
});

const serviceClass = checked((value) =>
  isServiceClass(value)
    ? { ok: true, value }
    : { ok: false, why: 'must be a service class such as WSMAN or HTTP (never krbtgt)' },
);

// Keys are targets (host names), read in their canonical form, as the AC names them.
const spns = z
  .record(z.string(), spn, { error: 'must be a mapping of target hosts to SPNs' })
  .transform((record, ctx): ReadonlyMap<string, string> => {
    const map = new Map<string, string>();
    for (const [target, name] of Object.entries(record)) {
      const host = targetHost(target.toLowerCase());
      if (host === undefined) {
        ctx.addIssue({ code: 'custom', message: 'keys must be target host names' });
        return z.NEVER;
      }
      map.set(host, name);
    }
    return map;
  });

const settings = (ctx: ConfigContext) =>
  z.strictObject(
    {
      id: backendId.optional(),
      principal,
      keytab: filePath(ctx),
      kdcs: z
        .array(kdc, { error: 'must be a list of KDC addresses' })
        .min(1, { error: 'must list at least one KDC' }),
      delegate_to: z
        .array(spn, { error: 'must be a list of SPNs' })
        .min(1, { error: 'must list at least one SPN' }),
      service: serviceClass.optional(),
      spns: spns.optional(),
      targets: z
        .array(targetPatternField('must be a target pattern, as in accords'), {
          error: 'must be a list of target patterns',
        })
        .min(1, { error: 'must list at least one target' })
        .optional(),
      timeout: duration(120).optional(),
      clock_skew: duration(3600).optional(),
    },
    { error: 'must be a mapping' },
  );

/** Why a keytab the broker cannot use is refused, by the reader's code; never its bytes. */
const KEYTAB_WHY: Readonly<Record<string, string>> = {
  kerberos_keytab_permissions: 'must be a regular file readable by its owner only (chmod 600)',
  kerberos_keytab_too_large: 'is larger than a keytab (1 MiB)',
  kerberos_keytab_version_unsupported: 'is not an MIT keytab (version 0x0502)',
  kerberos_keytab_malformed: 'is not an MIT keytab (malformed)',
};

/** The keytab, read once; it must hold a key Bastion speaks for `principal`. */
function loadKeytab(path: string, broker: string, where: string): Keytab {
  let keytab: Keytab;
  try {
    keytab = readKeytab(path);
  } catch (err) {
    const why = err instanceof BastionError ? KEYTAB_WHY[err.code] : undefined;
    throw new ConfigError(`${where}.keytab`, why ?? 'cannot be read');
  }
  const wanted = parsePrincipal(broker);
  if (!keytab.entries.some((e) => samePrincipal(e.principal, wanted))) {
    keytab.dispose();
    throw new ConfigError(`${where}.keytab`, 'holds no AES key for principal');
  }
  return keytab;
}

export const kerberosPlugin = defineBackendPlugin({
  kind: 'kerberos',
  summary: 'Kerberos service tickets (kerberos) by constrained delegation (S4U2Self + S4U2Proxy)',
  settings,
  create: (s: z.output<ReturnType<typeof settings>>, deps) =>
    new KerberosBackend({
      ...(s.id !== undefined ? { id: s.id } : {}),
      principal: s.principal,
      keytab: loadKeytab(s.keytab, s.principal, deps.where),
      kdcs: s.kdcs,
      delegateTo: s.delegate_to,
      service: s.service ?? DEFAULT_SERVICE,
      ...(s.spns !== undefined ? { spns: s.spns } : {}),
      ...(s.targets !== undefined ? { targets: s.targets } : {}),
      ...(s.timeout !== undefined ? { timeoutMs: s.timeout * 1000 } : {}),
      clockSkewMs: s.clock_skew !== undefined ? s.clock_skew * 1000 : DEFAULT_CLOCK_SKEW_MS,
      clock: deps.clock,
    }),
});
