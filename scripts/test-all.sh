#!/usr/bin/env bash
# The whole test suite, as the README's Quick start and CI run it (after `npm ci`):
# installs the Debian packages the tests need (as root, when missing), checks lint and
# format, builds, and runs every test. Real peers the tests need are started by the tests
# or by test/peers/ scripts, on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "Bastion needs Node.js 20 or later (found $(node --version))" >&2
  exit 1
fi

# The Debian packages of the real peers (sshd, slapd, krb5kdc, …), when missing.
bash scripts/debian-packages.sh

# Python peers from PyPI, each installed once per machine into a virtualenv under a cache
# directory keyed by its version (package.json's config): venv NAME VERSION MODULE PIP-ARGS…
# (re)installs unless the venv was completed (its `.installed` marker) and its python can
# import MODULE. The venv is made where it stays: pip writes its own path into the scripts
# it installs (`bin/st`), so a venv built elsewhere and moved has scripts that do not run.
venv() {
  local name=$1 version=$2 module=$3
  shift 3
  local dir="${BASTION_TOOLS_CACHE:-$HOME/.cache/bastion}/$name-$version"
  if [ ! -f "$dir/.installed" ] || ! "$dir/bin/python" -c "import $module" 2>/dev/null; then
    echo "installing $name $version into $dir"
    rm -rf "$dir" "$dir.partial"
    python3 -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check "$@"
    touch "$dir/.installed"
  fi
}
config() { node -p "require('./package.json').config.$1"; }

# Schemathesis fuzzes the broker's OpenAPI document in the suite.
st_version="${npm_package_config_schemathesis:-$(config schemathesis)}"
venv schemathesis "$st_version" schemathesis "schemathesis==$st_version" cryptography
# moto is the AWS peer of the aws_sts tests (STS, IAM, S3 on 127.0.0.1); the tests run it as
# `<venv>/bin/python3 -m moto.server`.
moto_version="${npm_package_config_moto:-$(config moto)}"
venv moto "$moto_version" moto.server "moto[server]==$moto_version"
# hvac, HashiCorp's official Python client of Vault, checks the Vault double speaks Vault's
# API (test/backends/vault-double-hvac.test.ts).
hvac_version="${npm_package_config_hvac:-$(config hvac)}"
venv hvac "$hvac_version" hvac "hvac==$hvac_version"
# pywinrm, the usual Python client of WinRM, with pykerberos (built here against libkrb5-dev,
# in seconds), checks the WinRM double speaks WS-Management with Kerberos and message
# encryption (test/peers/winrm-double.test.ts).
pywinrm_version="${npm_package_config_pywinrm:-$(config pywinrm)}"
pykerberos_version="${npm_package_config_pykerberos:-$(config pykerberos)}"
venv pywinrm "$pywinrm_version-pykerberos-$pykerberos_version" "winrm, kerberos" \
  "pywinrm[kerberos]==$pywinrm_version" "pykerberos==$pykerberos_version"

# SPIRE (server + agent), the spire backend's real peer: built from source through the Go
# module proxy once per machine into the same cache, keyed by its version (package.json);
# the first build takes many minutes (test/peers/spire.sh). The tests start it themselves.
bash test/peers/spire.sh build

# sshd refuses to start without its privilege-separation directory.
if [ "$(id -u)" -eq 0 ]; then mkdir -p /run/sshd; fi

# CI: the zero-credential proof's memory scans fail, rather than skip, where
# /proc/PID/mem cannot be read (CI services set it already; this covers the rest).
export CI="${CI:-1}"

npm run --silent lint
npm run --silent format:check
npm test
