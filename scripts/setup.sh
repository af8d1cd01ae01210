#!/usr/bin/env bash
# Installs mltoolbox from this checkout: a recent Node (if the machine's is
# older than 22.18), the npm dependencies, the build, and `mltoolbox`/`mlt`
# wrappers on PATH (/usr/local/bin as root, else ~/.local/bin).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"

if ! command -v ssh >/dev/null 2>&1 || ! command -v rsync >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing openssh-client and rsync"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-client rsync >&2
  else
    log "warning: mltoolbox needs ssh and rsync on PATH: sudo apt-get install openssh-client rsync"
  fi
fi
ensure_node
ensure_npm_deps
build

node_bin="$(command -v node)"
if [ "$(id -u)" = 0 ]; then bin_dir=/usr/local/bin; else bin_dir="$HOME/.local/bin"; fi
mkdir -p "$bin_dir"
for name in mltoolbox mlt; do
  # The wrapper pins the Node we just checked, whatever PATH says later.
  printf '#!/bin/sh\nexec %q %q "$@"\n' "$node_bin" "$REPO_ROOT/bin/$name.js" > "$bin_dir/$name"
  chmod +x "$bin_dir/$name"
done
log "installed $bin_dir/mltoolbox and $bin_dir/mlt ($("$bin_dir/mltoolbox" --version))"
case ":$PATH:" in *":$bin_dir:"*) ;; *) log "add $bin_dir to your PATH: export PATH=\"$bin_dir:\$PATH\"";; esac
