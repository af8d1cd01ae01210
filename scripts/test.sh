#!/usr/bin/env bash
# The whole test suite: unit + integration, against a real sshd, dockerd and
# rsync on this machine. As root it installs what is missing (Debian/Ubuntu);
# otherwise it names exactly what is missing and stops — it never skips the
# integration tests silently. The harness starts dockerd and sshd itself.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$REPO_ROOT"

# chromium: the relay dashboard test (headless, driven by playwright-core); postgresql: the relay's team database test;
# debootstrap: the Debian test images (features, hosts); podman + catatonit: the Podman engine test.
PACKAGES=(openssh-server openssh-client rsync rclone docker.io busybox-static debootstrap podman catatonit dbus-daemon dbus-bin gnome-keyring libsecret-tools bsdutils util-linux chromium postgresql)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing_packages() {
  local pkg
  command -v dpkg-query >/dev/null 2>&1 || { echo "(not a Debian/Ubuntu system: install the equivalents of ${PACKAGES[*]})"; return; }
  for pkg in "${PACKAGES[@]}"; do installed "$pkg" || echo "$pkg"; done
}

missing="$(missing_packages | tr '\n' ' ')"
if [ -n "${missing// /}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing test dependencies: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed" "check the Debian mirror is reachable"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >&2 || die "apt-get install failed for: $missing" "install them by hand, then run this again"
  else
    die "the integration tests need these Debian packages: $missing" "run as root (the script installs them), or: sudo apt-get install $missing"
  fi
fi

ensure_node
ensure_npm_deps
build

# Readability report (not a gate): functions above eslint's complexity 10.
node scripts/complexity.mjs || log "complexity report failed (not a gate)"

# The suite: one shared harness host (sshd + dockerd + base image) for every
# test file, set up once by the global setup and torn down after.
exec node --test \
  --test-global-setup=test/harness/global-setup.ts \
  --test-concurrency=2 \
  --test-timeout=300000 \
  'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts'
