#!/usr/bin/env bash
# Installs mltoolbox from this checkout: what the main job needs on this
# machine (as root on Debian/Ubuntu: ssh, rsync, the Docker Engine, started
# with or without systemd, and debootstrap for the offline default image), a
# recent Node (if the machine's is older than 22.18), the npm dependencies,
# the build, and `mltoolbox`/`mlt` wrappers on PATH (/usr/local/bin as root,
# else ~/.local/bin).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"

# What the main job (`mltoolbox connect local`) needs on this machine, and why.
declare -A WHY=(
  [openssh-client]="ssh to GPU hosts"
  [rsync]="project sync"
  [docker.io]="the Docker Engine that runs the dev container"
  [debootstrap]="the offline default image when no container registry is reachable"
)
need=()
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
{ command -v docker >/dev/null 2>&1 && command -v dockerd >/dev/null 2>&1; } || [ -S /var/run/docker.sock ] || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
  for pkg in "${need[@]}"; do log "needed: $pkg (${WHY[$pkg]})"; done
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing with apt-get: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed" "check the distribution mirror is reachable (see /etc/apt/sources.list*)"
    apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 || die "apt-get install failed for: ${need[*]}" "install them by hand, then run this again"
  else
    log "warning: install them first: sudo apt-get install ${need[*]} (Debian/Ubuntu)"
  fi
fi

# The Docker Engine must answer. As root we start it: through systemd when it
# runs the machine, else dockerd directly in the background (containers, CI
# machines and WSL often have no systemd).
docker_answers() { timeout 10 docker info >/dev/null 2>&1; }
if command -v docker >/dev/null 2>&1 && ! docker_answers; then
  started=""
  if [ "$(id -u)" = 0 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    log "starting the Docker Engine: systemctl enable --now docker"
    systemctl enable --now docker >&2 && started=1 || log "warning: systemctl could not start docker (journalctl -u docker says why)"
  elif [ "$(id -u)" = 0 ] && command -v dockerd >/dev/null 2>&1; then
    log "starting the Docker Engine without systemd: dockerd in the background, log in /var/log/dockerd.log"
    nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
    started=1
  fi
  if [ -n "$started" ]; then for _ in $(seq 1 60); do docker_answers && break; sleep 1; done; fi
  if docker_answers; then log "the Docker Engine answers"
  elif [ "$(id -u)" = 0 ]; then log "warning: the Docker Engine does not answer; tail /var/log/dockerd.log shows why"
  else log "warning: the Docker Engine does not answer: mltoolbox doctor local says why (and doctor local --fix offers the fix)"
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
