#!/usr/bin/env bash
# The real-code corpus of the precision ledger: the Go projects listed in
# tests/corpus/projects.tsv, each a Debian package at a pinned version, in two
# sets: `tune` (findings that may drive analysis changes) and `check` (held out,
# measured only after a change is finished). Installs the missing packages on
# first use and prints one source folder per line, ready to pass to gomaplint:
#
#   gomaplint --format json $(tests/corpus/install.sh)              # every project
#   gomaplint --format json $(tests/corpus/install.sh --set check)  # one set
#
# tests/corpus/check lints it and compares the findings with the ledger.
#
# Needs root (apt-get; sudo is used when not root). The packages also pull in
# their Go dependencies, in Debian's Go source tree; only the listed folders are
# the corpus.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
set_filter=""
case "${1:-}" in
  --set) set_filter=${2:?"install.sh: --set needs tune or check"} ;;
  "") ;;
  *) echo "install.sh: usage: install.sh [--set tune|check]" >&2; exit 2 ;;
esac
folders=() pins=() missing=()
while IFS=$'\t' read -r folder package version set _; do
  case "$folder" in ''|'#'*|folder) continue ;; esac
  pins+=("$package=$version")
  [ -z "$set_filter" ] || [ "$set" = "$set_filter" ] && folders+=("$folder")
  installed=$(dpkg-query -W -f='${Status} ${Version}' "$package" 2>/dev/null || true)
  [ "$installed" = "install ok installed $version" ] || missing+=("$package=$version")
done <"$here/projects.tsv"
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 \
    || { echo "install.sh: apt-get could not install the corpus packages (${#missing[@]} missing, e.g. ${missing[0]})" >&2; exit 1; }
fi
# Debian's Go source root, from where the first package put its first folder.
first=${pins[0]%%=*}
first_folder=$(awk -F'\t' '$1 !~ /^(#|folder$)/ && NF { print $1; exit }' "$here/projects.tsv")
# (awk reads all of dpkg's output: an early exit would make pipefail report dpkg's SIGPIPE.)
root=$(dpkg -L "$first" | awk -v p="/$first_folder/" 'index($0, p) && !found { found = 1; print substr($0, 1, index($0, p) - 1) }')
[ -d "$root" ] || { echo "install.sh: cannot find Debian's Go source folder" >&2; exit 1; }
for folder in "${folders[@]}"; do
  [ -d "$root/$folder" ] || { echo "install.sh: $root/$folder is missing; is projects.tsv's folder right?" >&2; exit 1; }
  echo "$root/$folder"
done
