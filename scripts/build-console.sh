#!/usr/bin/env bash
# Builds the web console (console/) into DIR: its TypeScript compiled to browser ES modules
# (no bundler: the browser loads them as they are), then its static files beside them.
# `npm run build` puts it in dist/console, `npm run build:test` in build/src/console, so
# that src/server/routes/console.ts finds it next to itself either way.
set -euo pipefail
out=${1:?usage: build-console.sh DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/node_modules/.bin/tsc" -p "$root/console/tsconfig.json" --outDir "$out"
cp "$root"/console/public/* "$out"/
