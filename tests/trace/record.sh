#!/usr/bin/env bash
# Records real crash logs for `tests/trace.rs`: builds racy fixtures WITHOUT
# -race (test fixtures as test binaries, run with -test.v) and runs each until the runtime's best-effort map check kills it with
# `fatal error: concurrent map ...`, then keeps the log as it was written.
#
#   tests/trace/record.sh GOROOT OUTDIR [FILTER] [TRIES]
#
# Env: GOTRACEBACK (passed to the program), TRIMPATH=1 (build with -trimpath),
# BUILD_ROOT=dir (copy the fixtures module there first and build from the copy,
# so the log's paths are another machine's), GO_DIRECTIVE=1.22 (with BUILD_ROOT:
# lower the copy's `go` line, for an older toolchain). Prints one line per fixture:
# `crashed <tries>` or `no-crash`.
set -uo pipefail
goroot=$1 out=$2 filter=${3:-} tries=${4:-300}
here=$(cd "$(dirname "$0")/../.." && pwd)
src="$here/fixtures"
if [ -n "${BUILD_ROOT:-}" ]; then
  rm -rf "$BUILD_ROOT" && mkdir -p "$BUILD_ROOT" && cp -r "$src/." "$BUILD_ROOT/" && src="$BUILD_ROOT"
  if [ -n "${GO_DIRECTIVE:-}" ]; then
    sed -i "s/^go .*/go $GO_DIRECTIVE/" "$src/go.mod" "$src/_deps/sync/go.mod"
  fi
fi
export GOROOT="$goroot" PATH="$goroot/bin:$PATH" GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off GOTELEMETRY=off
bin=$(mktemp -d)
mkdir -p "$out"
flags=()
[ -n "${TRIMPATH:-}" ] && flags+=(-trimpath)
for dir in "$src"/*/racy_*; do
  rel=${dir#"$src"/}
  case "$rel" in *"$filter"*) ;; *) continue ;; esac
  name=${rel//\//__}
  args=()
  if ls "$dir"/*_test.go >/dev/null 2>&1; then
    # A test fixture: its test binary, run as `go test` would run it.
    (cd "$src" && go test "${flags[@]}" -c -o "$bin/$name" "./$rel") || { echo "$rel build-failed"; continue; }
    args=(-test.count=1 -test.v)
  else
    (cd "$src" && go build "${flags[@]}" -o "$bin/$name" "./$rel") || { echo "$rel build-failed"; continue; }
  fi
  result=no-crash
  for i in $(seq 1 "$tries"); do
    timeout 3 "$bin/$name" "${args[@]}" >"$bin/log" 2>&1 </dev/null
    if grep -q 'fatal error: concurrent map' "$bin/log"; then
      cp "$bin/log" "$out/$name.log"
      result="crashed $i"
      break
    fi
  done
  echo "$rel $result"
done
rm -rf "$bin"
