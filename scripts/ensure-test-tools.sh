#!/usr/bin/env bash
# `npm test` runs this first (pretest): the tests drive Debian's Chromium (playwright-core downloads no
# browser; certutil from libnss3-tools gives it a throwaway CA to trust), send h2c and HTTP/2 requests
# with curl, start throwaway PostgreSQL clusters of their own (initdb + pg_ctl in a temp dir), check the
# alerting rules with promtool (Debian's prometheus package), put HAProxy in front of the proxy, load
# it over HTTP/2 with h2load (nghttp2-client) and scan its TLS with sslscan.
# Installs whichever is missing, with apt, so the test command passes on a fresh machine with no other
# step. Needs root (or sudo) when something is missing.
set -euo pipefail
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing="$missing postgresql"
command -v promtool >/dev/null 2>&1 || missing="$missing prometheus"
command -v haproxy >/dev/null 2>&1 || missing="$missing haproxy"
command -v h2load >/dev/null 2>&1 || missing="$missing nghttp2-client"
command -v sslscan >/dev/null 2>&1 || missing="$missing sslscan"
command -v certutil >/dev/null 2>&1 || missing="$missing libnss3-tools"
[ -z "$missing" ] && exit 0
echo "installing for the tests:$missing" >&2
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
# The tests start their own PostgreSQL and HAProxy and need only promtool: keep the packages from
# starting system services on install.
no_services=""
if [[ ( "$missing" == *postgresql* || "$missing" == *prometheus* || "$missing" == *haproxy* ) && ! -e /usr/sbin/policy-rc.d ]]; then
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
