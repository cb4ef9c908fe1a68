#!/usr/bin/env bash
# What the browser journeys need (tests/journeys): Debian's Chromium (test tools never download
# a browser), zbar-tools (reads the QR codes of the downloads) and axe-core from npm (tools/axe,
# pinned by its lock file).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${missing[*]} (Debian; chromium takes a few minutes)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null; }
  else
    echo "error: the journeys need Debian's ${missing[*]}: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
test -d tools/axe/node_modules/axe-core || npm ci --prefix tools/axe --no-audit --no-fund --loglevel=error
