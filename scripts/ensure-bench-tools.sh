#!/usr/bin/env bash
# `npm run bench` and `npm run bench:instructions` run this first: their baselines and load generators
# are Debian's nginx (the C floor every table carries), h2load (nghttp2-client: the edge setups),
# PostgreSQL's server binaries (the fleet setup) and valgrind (callgrind counts instructions).
# Installs whichever is missing, with apt, so that a fresh machine's table lacks no anchor.
exec bash "$(dirname "$0")/ensure-debian-tools.sh" "the benchmarks" \
  /usr/sbin/nginx=nginx h2load=nghttp2-client "/usr/lib/postgresql/*/bin/initdb=postgresql" valgrind=valgrind
