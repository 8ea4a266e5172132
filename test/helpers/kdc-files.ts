/**
 * The configuration the test KDC (test/helpers/kdc.ts) is started from, as text: slapd's
 * slapd.conf, the KDC's kdc.conf, the clients' krb5.conf, the kadmin.local script that makes
 * the principals and keytabs, and the LDIF that gives the brokers their delegation lists.
 * Kept apart from the process handling so the realm can be read in one place. Based on the
 * working setup recorded in /work/shared/notes/peers.md §2 (MIT Kerberos 1.20, Debian 12).
 */

/** Installed files the peer needs, and the Debian package of each (scripts/debian-packages.sh). */
export const KDC_FILES = {
  slapd: ['/usr/sbin/slapd', 'slapd'],
  slapdMdb: ['/usr/lib/ldap/back_mdb.so', 'slapd'],
  ldapSchemas: ['/etc/ldap/schema/cosine.schema', 'slapd'],
  ldapadd: ['/usr/bin/ldapadd', 'ldap-utils'],
  ldapmodify: ['/usr/bin/ldapmodify', 'ldap-utils'],
  krb5kdc: ['/usr/sbin/krb5kdc', 'krb5-kdc'],
  kdb5LdapUtil: ['/usr/sbin/kdb5_ldap_util', 'krb5-kdc-ldap'],
  kerberosSchema: ['/usr/share/doc/krb5-kdc-ldap/kerberos.schema.gz', 'krb5-kdc-ldap'],
  kadminLocal: ['/usr/sbin/kadmin.local', 'krb5-admin-server'],
  kinit: ['/usr/bin/kinit', 'krb5-user'],
  kvno: ['/usr/bin/kvno', 'krb5-user'],
  klist: ['/usr/bin/klist', 'krb5-user'],
} as const;

export const path = (name: keyof typeof KDC_FILES): string => KDC_FILES[name][0];

/** The enctypes of every key: RFC 3962's two and RFC 8009's two (the in-process codecs'). */
export const ENCTYPES = [
  'aes256-cts-hmac-sha1-96',
  'aes128-cts-hmac-sha1-96',
  'aes256-cts-hmac-sha384-192',
  'aes128-cts-hmac-sha256-128',
] as const;

export interface RealmPlan {
  readonly dir: string;
  readonly realm: string;
  /** The LDAP suffix, e.g. dc=bastion,dc=test. */
  readonly suffix: string;
  /** slapd's root DN, which the KDC and the admin tools bind as. */
  readonly adminDn: string;
  /** Test-only: slapd's root password. */
  readonly adminPassword: string;
  /** `ldapi://…` (slapd's socket in the temporary directory). */
  readonly ldapUrl: string;
}

export function slapdConf(p: RealmPlan): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include ${p.dir}/kerberos.schema
pidfile ${p.dir}/slapd.pid
argsfile ${p.dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 104857600
suffix "${p.suffix}"
rootdn "${p.adminDn}"
rootpw ${p.adminPassword}
directory ${p.dir}/ldapdb
index objectClass eq
index krbPrincipalName eq,pres,sub
`;
}

export function baseEntryLdif(p: RealmPlan): string {
  const dc = /^dc=([^,]+)/.exec(p.suffix)?.[1] ?? 'test';
  return `dn: ${p.suffix}\nobjectClass: dcObject\nobjectClass: organization\no: ${dc}\ndc: ${dc}\n`;
}

/**
 * The clients' krb5.conf: this realm only, its KDC on 127.0.0.1, no DNS at all (no lookup
 * can leave the host), TCP only (a KDC that is down is refused at once, not timed out).
 * `kdc_timesync` (MIT's default) makes the tools honour a ccache's time offset, which is
 * how tests skew a client's clock (kdc-cli.ts).
 */
export function krb5Conf(realm: string, port: number): string {
  // The profile parser needs the `{` of a realm on the realm's line and the `}` on its own.
  return `[libdefaults]
  default_realm = ${realm}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  udp_preference_limit = 1
  forwardable = true
  kdc_timesync = 1
  permitted_enctypes = ${ENCTYPES.join(' ')}
[realms]
  ${realm} = {
    kdc = 127.0.0.1:${port}
  }
[domain_realm]
  .bastion.test = ${realm}
  bastion.test = ${realm}
`;
}

export interface KdcSettings {
  readonly port: number;
  /** How far a client's clock may be from the KDC's (MIT `clockskew`), in seconds. */
  readonly clockSkewSeconds: number;
  /** The realm's longest ticket (`max_life`), in seconds. */
  readonly maxLifeSeconds: number;
}

/**
 * The KDC's own profile (KRB5_KDC_PROFILE), read before krb5.conf: its `[libdefaults]
 * clockskew` is the KDC's allowance and no client's. The database is slapd's (`kldap`).
 */
export function kdcConf(p: RealmPlan, s: KdcSettings): string {
  return `[kdcdefaults]
  kdc_listen = 127.0.0.1:${s.port}
  kdc_tcp_listen = 127.0.0.1:${s.port}
[libdefaults]
  clockskew = ${s.clockSkewSeconds}
[realms]
  ${p.realm} = {
    database_module = ldapconf
    key_stash_file = ${p.dir}/stash
    max_life = ${s.maxLifeSeconds}s
    max_renewable_life = 0
    supported_enctypes = ${ENCTYPES.map((e) => `${e}:normal`).join(' ')}
  }
[dbmodules]
  ldapconf = {
    db_library = kldap
    ldap_kerberos_container_dn = cn=krbContainer,${p.suffix}
    ldap_kdc_dn = ${p.adminDn}
    ldap_kadmind_dn = ${p.adminDn}
    ldap_service_password_file = ${p.dir}/service.keyfile
    ldap_servers = ${p.ldapUrl}
  }
[logging]
  kdc = FILE:${p.dir}/kdc.log
  admin_server = FILE:${p.dir}/kadmin.log
  default = FILE:${p.dir}/kadmin.log
`;
}

/** What `kdb5_ldap_util stashsrvpw` writes: the DN and its password in hex (test-only). */
export function serviceKeyfile(p: RealmPlan): string {
  return `${p.adminDn}#{HEX}${Buffer.from(p.adminPassword).toString('hex')}\n`;
}

export interface PrincipalPlan {
  /** Without the realm: `alice`, `HTTP/broker.bastion.test`. */
  readonly name: string;
  /** kadmin flags such as `+ok_to_auth_as_delegate`, `-allow_forwardable`. */
  readonly flags: readonly string[];
  /** A user's password (test-only), or undefined for a random key. */
  readonly password?: string;
}

/** One kadmin.local session: every principal, then every keytab (path → principals). */
export function kadminScript(
  principals: readonly PrincipalPlan[],
  keytabs: ReadonlyMap<string, readonly string[]>,
): string {
  const lines = principals.map((p) =>
    [
      'addprinc',
      p.password === undefined ? '-randkey' : `-pw ${p.password}`,
      ...p.flags,
      p.name,
    ].join(' '),
  );
  for (const [file, names] of keytabs) lines.push(`ktadd -k ${file} ${names.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** `krbAllowedToDelegateTo` of each principal: MIT's constrained-delegation list (kldap only). */
export function delegationLdif(
  p: RealmPlan,
  lists: ReadonlyMap<string, readonly string[]>,
  change: 'add' | 'replace' = 'add',
): string {
  return [...lists]
    .map(
      ([principal, spns]) =>
        `dn: krbPrincipalName=${principal}@${p.realm},cn=${p.realm},cn=krbContainer,${p.suffix}\n` +
        `changetype: modify\n${change}: krbAllowedToDelegateTo\n` +
        spns.map((spn) => `krbAllowedToDelegateTo: ${spn}@${p.realm}\n`).join(''),
    )
    .join('\n');
}
