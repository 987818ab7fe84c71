#!/usr/bin/env bash
# Prints the bin folder of a Node.js the repo can run on (>= 22.22: type stripping of .ts files).
#
#   export PATH="$(tools/provision-node.sh):$PATH"
#
# Uses the `node` on PATH when it is new enough; otherwise a Node 24 already unpacked under
# .cache/node-<version>/; otherwise fetches the npm package node-linux-<arch>@24 (which holds the
# node binary) with `npm pack` into .cache/node-<version>/. npm itself stays the system npm, which
# runs fine under the newer node. Idempotent; prints nothing else unless something fails.
set -euo pipefail

MIN_MAJOR=22
MIN_MINOR=22
WANT_MAJOR=24

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache"

# version_ok X.Y.Z: true when X.Y >= MIN_MAJOR.MIN_MINOR
version_ok() {
  local major minor rest
  IFS=. read -r major minor rest <<<"$1"
  [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
  ((major > MIN_MAJOR || (major == MIN_MAJOR && minor >= MIN_MINOR)))
}

# node_version BIN: prints BIN's version without the leading v, or nothing
node_version() {
  "$1" -p 'process.versions.node' 2>/dev/null || true
}

if command -v node >/dev/null 2>&1; then
  v="$(node_version node)"
  if [[ -n "$v" ]] && version_ok "$v"; then
    node -p 'require("path").dirname(process.execPath)'
    exit 0
  fi
fi

# A Node already unpacked into the cache (newest first).
if [[ -d "$cache" ]]; then
  while IFS= read -r dir; do
    bin="$dir/bin/node"
    [[ -x "$bin" ]] || continue
    v="$(node_version "$bin")"
    if [[ -n "$v" ]] && version_ok "$v"; then
      echo "$dir/bin"
      exit 0
    fi
  done < <(find "$cache" -maxdepth 1 -type d -name 'node-[0-9]*' | sort -t- -k2 -V -r)
fi

case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *)
    echo "provision-node: no Node package for $(uname -m)" >&2
    exit 1
    ;;
esac

if ! command -v npm >/dev/null 2>&1; then
  echo "provision-node: npm is needed to fetch Node $WANT_MAJOR" >&2
  exit 1
fi

mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.node-download.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log="$tmp/npm.log"
if ! tgz="$(cd "$tmp" && npm pack --silent "node-linux-$arch@$WANT_MAJOR" 2>"$log" | tail -n 1)" || [[ ! -f "$tmp/$tgz" ]]; then
  echo "provision-node: npm pack node-linux-$arch@$WANT_MAJOR failed:" >&2
  cat "$log" >&2
  exit 1
fi
ver="${tgz#node-linux-"$arch"-}"
ver="${ver%.tgz}"
mkdir -p "$tmp/x"
tar -xzf "$tmp/$tgz" -C "$tmp/x"
if [[ ! -x "$tmp/x/package/bin/node" ]]; then
  echo "provision-node: $tgz holds no bin/node" >&2
  exit 1
fi
dest="$cache/node-$ver"
if [[ ! -x "$dest/bin/node" ]]; then
  rm -rf "$dest"
  mv "$tmp/x/package" "$dest"
fi
v="$(node_version "$dest/bin/node")"
if [[ -z "$v" ]] || ! version_ok "$v"; then
  echo "provision-node: $dest/bin/node does not run or is too old (${v:-?})" >&2
  exit 1
fi
echo "$dest/bin"
