#!/usr/bin/env bash
# The Debian packages the tests' real peers need, installed when missing (as root): called
# by scripts/test-all.sh, and runnable on its own. Installs nothing when every command is
# present. Package scripts never start a system daemon: the tests start their own sshd,
# slapd and krb5kdc on 127.0.0.1 (policy-rc.d refuses every service start meanwhile).
set -euo pipefail

# command → Debian package that provides it
declare -A wanted=(
  [ssh-keygen]=openssh-client [ssh-keyscan]=openssh-client [/usr/sbin/sshd]=openssh-server
  [openssl]=openssl
  # MIT Kerberos with its LDAP database (constrained delegation needs it) and OpenLDAP:
  # test/helpers/kdc.ts runs slapd and krb5kdc in a temporary directory.
  [/usr/sbin/krb5kdc]=krb5-kdc [/usr/sbin/kadmin.local]=krb5-admin-server
  [/usr/sbin/kdb5_ldap_util]=krb5-kdc-ldap [/usr/sbin/slapd]=slapd [ldapmodify]=ldap-utils
  [kinit]=krb5-user [kvno]=krb5-user [klist]=krb5-user [ktutil]=krb5-user
  # The WinRM double's Kerberos acceptor (Debian's python3 with python3-gssapi), and what
  # building pywinrm's pykerberos needs (krb5-config and the GSSAPI headers, a C compiler).
  [/usr/lib/python3/dist-packages/gssapi/__init__.py]=python3-gssapi
  [krb5-config]=libkrb5-dev [gcc]=gcc
  # PostgreSQL 15: test/helpers/postgres.ts runs a private cluster (initdb, pg_ctl).
  [/usr/lib/postgresql/15/bin/initdb]=postgresql-15
  # rsyslog with TLS (RFC 5425): test/helpers/rsyslog.ts runs one with a configuration of its
  # own as the SIEM forwarder's collector (imtcp on a high port of 127.0.0.1, into a file).
  [/usr/sbin/rsyslogd]=rsyslog [/usr/share/doc/rsyslog-gnutls/copyright]=rsyslog-gnutls
  # The web console's browser tests drive Debian's Chromium through playwright-core.
  [/usr/bin/chromium]=chromium
)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] || [ -f "$cmd" ] || missing+=("${wanted[$cmd]}")
done
[ ${#missing[@]} -gt 0 ] || exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
packages=$(printf '%s\n' "${missing[@]}" | sort -u)
echo "installing Debian packages:" $packages
apt-get update -qq
own_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
fi
# slapd: no system directory at all (no /etc/ldap/slapd.d database, no admin password to
# ask for); the tests write their own slapd.conf.
echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
# shellcheck disable=SC2086 # one word a package
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null
if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
