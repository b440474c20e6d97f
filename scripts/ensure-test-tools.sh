#!/usr/bin/env bash
# `npm test` runs this first (pretest): the tests drive Debian's Chromium (playwright-core downloads no
# browser) and send one h2c upgrade with curl. Installs whichever is missing, with apt, so the test
# command passes on a fresh machine with no other step. Needs root (or sudo) when something is missing.
set -euo pipefail
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
[ -z "$missing" ] && exit 0
echo "installing for the tests:$missing" >&2
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
$as_root apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq $missing >/dev/null
