#!/usr/bin/env bash
# Regenerates vendor/tree-sitter-go/src from its grammar.js with the pinned
# tree-sitter CLI, or with --check fails when the committed src/ differs from
# what the committed grammar.js generates (and runs the grammar's corpus tests).
#
# The CLI is built from crates.io into ~/.cache on first use (a few minutes);
# `tree-sitter generate` needs node to evaluate grammar.js.
set -euo pipefail
CLI_VERSION=0.25.8
here=$(cd "$(dirname "$0")/../.." && pwd)
grammar="$here/vendor/tree-sitter-go"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/gomaplint-tree-sitter-cli-$CLI_VERSION"
cli="$cache/bin/tree-sitter"

command -v node >/dev/null || { echo "regenerate-grammar: needs node (tree-sitter reads grammar.js with it); install Node.js" >&2; exit 1; }
if [ ! -x "$cli" ]; then
  echo "regenerate-grammar: installing tree-sitter-cli $CLI_VERSION into $cache" >&2
  cargo install --quiet --locked tree-sitter-cli --version "$CLI_VERSION" --root "$cache" >&2 \
    || { echo "regenerate-grammar: cannot install tree-sitter-cli $CLI_VERSION with cargo (no network?)" >&2; exit 1; }
fi

generate() { (cd "$1" && "$cli" generate >&2); }

if [ "${1:-}" = --check ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -r "$grammar/." "$work/"
  generate "$work"
  for f in parser.c grammar.json node-types.json tree_sitter/parser.h tree_sitter/array.h tree_sitter/alloc.h; do
    cmp -s "$grammar/src/$f" "$work/src/$f" || {
      echo "regenerate-grammar: vendor/tree-sitter-go/src/$f is not what grammar.js generates; run tests/tools/regenerate-grammar.sh and commit the result" >&2
      exit 1
    }
  done
  (cd "$work" && "$cli" test >&2)
  echo "regenerate-grammar: src/ is what grammar.js generates, and the corpus tests pass" >&2
else
  generate "$grammar"
  echo "regenerate-grammar: regenerated vendor/tree-sitter-go/src" >&2
fi
