#!/usr/bin/env bash
# Validates SARIF files with Microsoft's SARIF Multitool: the SARIF 2.1.0 schema,
# SARIF's best-practice rules, and GitHub code scanning's ingestion rules (GHxxxx).
# Installs the validator from npm into a cache folder on first use (npm and
# network needed once). Exits 0 when no file has an error or warning, 1 when
# some file has one (each is printed), 3 when the validator cannot be installed
# (one line says what is missing).
#
#   tests/tools/sarif-validate.sh out.sarif [more.sarif ...]
#
# GOMAPLINT_SARIF_CACHE: the cache folder (default ~/.cache/gomaplint-sarif).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: sarif-validate.sh FILE.sarif..." >&2; exit 2; }
version=5.7.0
fail() {
  echo "sarif-validate.sh: $1; set GOMAPLINT_SKIP_SARIF_VALIDATOR=1 to skip SARIF validation" >&2
  exit 3
}
cache=${GOMAPLINT_SARIF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gomaplint-sarif}
bin="$cache/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
if [ ! -x "$bin" ]; then
  command -v npm >/dev/null || fail "npm is not installed, so the SARIF validator cannot be installed"
  mkdir -p "$cache" || fail "cannot create the cache folder $cache"
  log="$cache/install.log"
  (cd "$cache" && npm install --no-audit --no-fund "@microsoft/sarif-multitool@$version") >"$log" 2>&1 \
    || fail "npm could not install @microsoft/sarif-multitool@$version (no network?), see $log"
  [ -f "$bin" ] || fail "@microsoft/sarif-multitool@$version has no Linux binary at $bin"
  chmod +x "$bin"
fi
status=0
for f in "$@"; do
  out=$(DOTNET_CLI_TELEMETRY_OPTOUT=1 "$bin" validate --rule-kind "Gh;Sarif" --level "Error;Warning" "$f" 2>&1) || true
  problems=$(grep -E ": (error|warning) [A-Z]+[0-9]+" <<<"$out" || true)
  if [ -n "$problems" ] || ! grep -q "Done. 1 files scanned" <<<"$out"; then
    echo "sarif-validate: $f has problems:"
    if [ -n "$problems" ]; then echo "$problems"; else echo "$out"; fi
    status=1
  else
    echo "sarif-validate: $f is valid SARIF 2.1.0 and meets GitHub's ingestion rules"
  fi
done
exit $status
