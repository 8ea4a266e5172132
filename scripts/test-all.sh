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

# command → Debian package that provides it
declare -A wanted=([ssh-keygen]=openssh-client)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm run --silent lint
npm run --silent format:check
npm test
