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

# command → Debian package that provides it (real peers run on 127.0.0.1 only)
declare -A wanted=([ssh-keygen]=openssh-client [ssh-keyscan]=openssh-client [/usr/sbin/sshd]=openssh-server [openssl]=openssl)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] || missing+=("${wanted[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  # Tests start their own sshd on 127.0.0.1; never let the package start a system one.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    $(printf '%s\n' "${missing[@]}" | sort -u) >/dev/null
  if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# Schemathesis (PyPI) fuzzes the broker's OpenAPI document in the suite: installed once per
# machine into a virtualenv under a cache directory keyed by its version (package.json).
st_version="${npm_package_config_schemathesis:-$(node -p 'require("./package.json").config.schemathesis')}"
st_dir="${BASTION_TOOLS_CACHE:-$HOME/.cache/bastion}/schemathesis-$st_version"
if [ ! -x "$st_dir/bin/st" ]; then
  echo "installing schemathesis $st_version into $st_dir"
  rm -rf "$st_dir.partial"
  python3 -m venv "$st_dir.partial"
  "$st_dir.partial/bin/pip" install -q --disable-pip-version-check "schemathesis==$st_version" cryptography
  mv "$st_dir.partial" "$st_dir"
fi

# hvac (PyPI), HashiCorp's official Python client of Vault, checks the Vault double speaks
# Vault's API (test/backends/vault-double-hvac.test.ts): installed the same way.
hvac_version="${npm_package_config_hvac:-$(node -p 'require("./package.json").config.hvac')}"
hvac_dir="${BASTION_TOOLS_CACHE:-$HOME/.cache/bastion}/hvac-$hvac_version"
if [ ! -x "$hvac_dir/bin/python" ] || ! "$hvac_dir/bin/python" -c 'import hvac' 2>/dev/null; then
  echo "installing hvac $hvac_version into $hvac_dir"
  rm -rf "$hvac_dir" "$hvac_dir.partial"
  python3 -m venv "$hvac_dir.partial"
  "$hvac_dir.partial/bin/pip" install -q --disable-pip-version-check "hvac==$hvac_version"
  mv "$hvac_dir.partial" "$hvac_dir"
fi

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
