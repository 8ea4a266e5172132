#!/usr/bin/env bash
# Builds real SPIRE (server + agent) for the SPIRE backend's tests, once per machine: from
# source through the Go module proxy into a cache directory keyed by version, because the
# build takes many minutes and gigabytes of Go cache. The tests start the binaries
# themselves (test/helpers/spire.ts), on 127.0.0.1 and unix sockets only.
#
#   bash test/peers/spire.sh build   # no-op when $DIR/bin holds both binaries
#   bash test/peers/spire.sh dir     # prints $DIR
#
# DIR = ${BASTION_TOOLS_CACHE:-$HOME/.cache/bastion}/spire-<version>, version from
# package.json config.spire (or SPIRE_VERSION). Go's module and build caches live in
# ${BASTION_TOOLS_CACHE:-$HOME/.cache/bastion}/go, so an interrupted build resumes.
set -euo pipefail
cd "$(dirname "$0")/../.."

version="${SPIRE_VERSION:-${npm_package_config_spire:-$(node -p 'require("./package.json").config.spire')}}"
cache="${BASTION_TOOLS_CACHE:-$HOME/.cache/bastion}"
dir="$cache/spire-$version"

built() { [ -x "$dir/bin/spire-server" ] && [ -x "$dir/bin/spire-agent" ]; }

build() {
  built && return 0
  command -v go >/dev/null 2>&1 || {
    echo "spire.sh: Go is needed to build SPIRE $version (https://go.dev/dl/)" >&2
    exit 1
  }
  mkdir -p "$cache"
  # One build at a time per machine; a second caller waits, then finds the binaries.
  exec 9>"$dir.lock"
  flock 9
  built && return 0
  echo "building SPIRE $version into $dir (once per machine; takes many minutes)"
  export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build"
  export GOFLAGS="-p=2 -buildvcs=false -modcacherw"
  local work="$dir.partial"
  rm -rf "$work"
  mkdir -p "$work/src" "$work/bin"
  (
    cd "$work/src"
    go mod init bastion-spire-peer >/dev/null 2>&1
    go get -tool "github.com/spiffe/spire/cmd/spire-server@v$version"
    go get -tool "github.com/spiffe/spire/cmd/spire-agent@v$version"
    go build -trimpath -ldflags="-s -w" -o ../bin/ \
      github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent
  )
  # Both binaries must run and be the version asked for (a dev build prints 1.13.3-dev-…).
  for bin in spire-server spire-agent; do
    "$work/bin/$bin" --version 2>&1 | grep -q "^$version" || {
      echo "spire.sh: $bin does not run as SPIRE $version" >&2
      exit 1
    }
  done
  rm -rf "$dir"
  mv "$work" "$dir"
  echo "SPIRE $version built in $dir/bin"
}

case "${1:-}" in
build) build ;;
dir) echo "$dir" ;;
*)
  echo "usage: $0 build|dir" >&2
  exit 2
  ;;
esac
