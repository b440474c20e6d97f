#!/usr/bin/env bash
# `npm test` runs this first (pretest): the tests drive Debian's Chromium (playwright-core downloads no
# browser; certutil from libnss3-tools gives it a throwaway CA to trust), send h2c and HTTP/2 requests
# with curl, start throwaway PostgreSQL clusters of their own (initdb + pg_ctl in a temp dir), check the
# alerting rules with promtool (Debian's prometheus package), put HAProxy in front of the proxy, load
# it over HTTP/2 with h2load (nghttp2-client) and scan its TLS with sslscan; the docs' shell blocks pipe into jq.
# Installs whichever is missing, with apt, so the test command passes on a fresh machine with no other step.
exec bash "$(dirname "$0")/ensure-debian-tools.sh" "the tests" \
  chromium=chromium curl=curl "/usr/lib/postgresql/*/bin/initdb=postgresql" promtool=prometheus \
  haproxy=haproxy h2load=nghttp2-client sslscan=sslscan certutil=libnss3-tools jq=jq
