#!/usr/bin/env bash
# Installs, with apt, whichever of the named Debian tools is missing: ensure-debian-tools.sh PURPOSE
# CHECK=PACKAGE... where CHECK is a command name, or a path glob (one with a '/') that must match a file.
# Used by `npm test` (scripts/ensure-test-tools.sh) and `npm run bench` (scripts/ensure-bench-tools.sh), so
# that both pass on a fresh machine with no other step. Needs root (or sudo) when something is missing.
# Packages that would start a system service on install (PostgreSQL, HAProxy, nginx, Prometheus) are kept
# from starting it: the tests and benches start their own, on free ports.
set -euo pipefail
purpose="$1"
shift
missing=""
for pair in "$@"; do
  check="${pair%%=*}"
  pkg="${pair#*=}"
  if [[ "$check" == */* ]]; then
    compgen -G "$check" >/dev/null || missing="$missing $pkg"
  else
    command -v "$check" >/dev/null 2>&1 || missing="$missing $pkg"
  fi
done
[ -z "$missing" ] && exit 0
echo "installing for $purpose:$missing" >&2
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
no_services=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $as_root tee /usr/sbin/policy-rc.d >/dev/null
  $as_root chmod +x /usr/sbin/policy-rc.d
  no_services=1
fi
$as_root apt-get update -qq
# prometheus alone, without what it recommends (exporters that would be services of their own).
others="${missing/ prometheus/}"
if [ -n "${others// /}" ]; then
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq $others >/dev/null
fi
if [[ "$missing" == *prometheus* ]]; then
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
[ -n "$no_services" ] && $as_root rm -f /usr/sbin/policy-rc.d
exit 0
