#!/usr/bin/env bash
# Best-effort system packages. Never fails the caller: Attesta runs without them, only slower.
# - libharfbuzz-subset0: WeasyPrint subsets fonts with HarfBuzz when present, with fontTools
#   (3-7x slower) otherwise (architecture.md, "Rendering performance").
set -u
have_lib() { ldconfig -p 2>/dev/null | grep -q "$1"; }
if have_lib libharfbuzz-subset.so; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing libharfbuzz-subset0 (faster PDF rendering)..."
  (apt-get install -y -qq libharfbuzz-subset0 >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq libharfbuzz-subset0 >/dev/null 2>&1; }) \
    || echo "warning: could not install libharfbuzz-subset0; PDFs will render more slowly." >&2
else
  echo "note: libharfbuzz-subset0 is missing; install it (apt-get install libharfbuzz-subset0) for faster PDF rendering." >&2
fi
exit 0
