#!/usr/bin/env bash
# Builds hashicorp-raft-kv offline into target/hashicorp-raft-kv/ at the
# repository root, against the HashiCorp raft sources Debian packages under
# /usr/share/gocode (GOPATH mode: no modules, no network).
#
#   systems/hashicorp-raft-kv/build.sh          build (Go caches make it quick)
#   systems/hashicorp-raft-kv/build.sh --check  also gofmt, go vet and go test
#
# Needs: apt-get install -y golang-go golang-github-hashicorp-raft-dev \
#          golang-github-hashicorp-raft-boltdb-dev
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/target/hashicorp-raft-kv"
gopath=/usr/share/gocode

if ! command -v go >/dev/null; then
  echo "build.sh: no go compiler (apt-get install -y golang-go)" >&2
  exit 3
fi
for lib in github.com/hashicorp/raft github.com/hashicorp/raft-boltdb; do
  if [ ! -d "$gopath/src/$lib" ]; then
    echo "build.sh: $gopath/src/$lib is missing (apt-get install -y golang-github-hashicorp-raft-dev golang-github-hashicorp-raft-boltdb-dev)" >&2
    exit 3
  fi
done

mkdir -p "$out/gocache"
export GOPATH="$gopath" GO111MODULE=off GOFLAGS= GOCACHE="$out/gocache" GOTOOLCHAIN=local CGO_ENABLED=0
cd "$here"
if [ "${1:-}" = "--check" ]; then
  unformatted="$(gofmt -l .)"
  if [ -n "$unformatted" ]; then
    echo "build.sh: not gofmt-clean: $unformatted" >&2
    exit 1
  fi
  go vet .
  go test -count=1 .
fi
go build -o "$out/hashicorp-raft-kv.new" .
mv "$out/hashicorp-raft-kv.new" "$out/hashicorp-raft-kv"
echo "built $out/hashicorp-raft-kv"
