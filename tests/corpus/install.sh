#!/usr/bin/env bash
# The real-code corpus of the precision ledger (tests/corpus/ledger.tsv): 18 concurrency-heavy Go projects packaged by Debian
# (about 3,200 .go files: nats-server, syncthing, raft, memberlist, serf, badger, quic-go, rclone,
# fasthttp, gin, echo, websocket, containers/storage, go-plugin, cilium/ebpf, yamux, miekg/dns,
# prometheus client_golang), installed as Debian packages at pinned versions on first use.
# Prints one source folder per line, ready to pass to gomaplint:
#
#   gomaplint --format json $(tests/corpus/install.sh)
#
# tests/corpus/check lints it and compares the findings with the ledger.
#
# Needs root (apt-get; sudo is used when not root). The packages also pull in their Go dependencies, in Debian's Go source tree.
set -euo pipefail
pkgs=(
  golang-github-nats-io-nats-server-dev=2.9.10-1:github.com/nats-io/nats-server
  golang-github-syncthing-syncthing-dev=1.19.2~ds1-1:github.com/syncthing/syncthing
  golang-github-hashicorp-raft-dev=1.1.2-1:github.com/hashicorp/raft
  golang-github-hashicorp-memberlist-dev=0.2.2-2:github.com/hashicorp/memberlist
  golang-github-hashicorp-serf-dev=0.9.4~ds1-1:github.com/hashicorp/serf
  golang-github-hashicorp-yamux-dev=0.0+git20190923.df201c7-1:github.com/hashicorp/yamux
  golang-github-hashicorp-go-plugin-dev=1.0.1-4:github.com/hashicorp/go-plugin
  golang-github-dgraph-io-badger-dev=2.2007.2-3:github.com/dgraph-io/badger
  golang-github-lucas-clemente-quic-go-dev=0.29.0-1:github.com/lucas-clemente/quic-go
  golang-github-rclone-rclone-dev=1.60.1+dfsg-2:github.com/rclone/rclone
  golang-github-valyala-fasthttp-dev=1:1.31.0-4:github.com/valyala/fasthttp
  golang-github-gin-gonic-gin-dev=1.8.1-1:github.com/gin-gonic/gin
  golang-github-labstack-echo-dev=4.2.1-3:github.com/labstack/echo
  golang-github-gorilla-websocket-dev=1.5.0-2:github.com/gorilla/websocket
  golang-github-containers-storage-dev=1.43.0+ds1-8:github.com/containers/storage
  golang-github-cilium-ebpf-dev=0.9.1-1:github.com/cilium/ebpf
  golang-github-miekg-dns-dev=1.1.50-2:github.com/miekg/dns
  golang-github-prometheus-client-golang-dev=1.14.0-3:github.com/prometheus/client_golang
)
missing=()
for p in "${pkgs[@]}"; do
  name=${p%%=*}
  dpkg -s "$name" >/dev/null 2>&1 || missing+=("${p%:*}")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 \
    || { echo "install.sh: apt-get could not install the corpus packages" >&2; exit 1; }
fi
# Debian's Go source root, from where the first package put its files.
first=${pkgs[0]%%=*}
# (awk reads all of dpkg's output: an early exit would make pipefail report dpkg's SIGPIPE.)
root=$(dpkg -L "$first" | awk -v p="/${pkgs[0]##*:}/" 'index($0, p) && !found { found = 1; print substr($0, 1, index($0, p) - 1) }')
[ -d "$root" ] || { echo "install.sh: cannot find Debian's Go source folder" >&2; exit 1; }
for p in "${pkgs[@]}"; do echo "$root/${p##*:}"; done
