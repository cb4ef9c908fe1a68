#!/usr/bin/env bash
# Best-effort system packages. Never fails the caller: Attesta runs without them, only slower.
# - libharfbuzz-subset0: WeasyPrint subsets fonts with HarfBuzz when present, with fontTools
#   (3-7x slower) otherwise (architecture.md, "Rendering performance").
# - poppler-utils, libnss3-tools: pdftotext, pdfsig and certutil, with which the tests read and
#   check our PDFs and seals as an independent tool would (trusting our root CA in NSS).
# - zbar-tools: zbarimg, with which the tests decode the QR codes we draw, as a phone would.
set -u
missing=()
ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset.so || missing+=(libharfbuzz-subset0)
command -v pdfsig >/dev/null 2>&1 || missing+=(poppler-utils)
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]}..."
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; }) \
    || echo "warning: could not install ${missing[*]}" >&2
else
  echo "note: please install ${missing[*]} (Debian packages) for faster rendering and the PDF tests." >&2
fi
exit 0
