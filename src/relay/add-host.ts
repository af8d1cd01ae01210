import { UserError } from '../core/errors.ts';
import { issueHostToken } from './admin.ts';
import type { RelayStore } from './server/store.ts';

/**
 * `relay add-host`: what it needs from the host is a shell (the app gives it
 * the SSH service's). Steps, each safe to repeat:
 * 1. find `mlt` on the host (installed by `mltoolbox agent install` / connect);
 * 2. issue a fresh agent token for the host (the previous one is revoked);
 * 3. write ~/.config/mltoolbox/relay-agent.json (0600) from stdin — the
 *    token never appears in an argv or a shell history on either side;
 * 4. (re)start `mlt daemon`: a systemd --user unit when the user manager
 *    answers, else a supervised background loop with a pid file.
 * A failure after step 2 revokes the new token.
 */
export interface HostShell {
  /** argv on the host, every word quoted; `input` on stdin. */
  run(argv: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
}

export type DaemonMode = 'systemd' | 'background';

export interface AddHostResult {
  host: string;
  tokenId: string;
  replacedTokens: string[];
  mode: DaemonMode;
  mlt: string;
}

const FIND_MLT = `
for candidate in "$(command -v mlt 2>/dev/null || true)" "$HOME/.local/bin/mlt" /usr/local/bin/mlt; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then printf 'mlt=%s\\n' "$candidate"; exit 0; fi
done
echo mlt=
`;

const WRITE_CONFIG = `
set -eu
dir="\${XDG_CONFIG_HOME:-$HOME/.config}/mltoolbox"
mkdir -p "$dir"
umask 077
cat > "$dir/relay-agent.json.tmp"
chmod 600 "$dir/relay-agent.json.tmp"
mv -f "$dir/relay-agent.json.tmp" "$dir/relay-agent.json"
`;

/** $1 = the mlt executable (checked to be a plain path before it gets here). */
export const START_DAEMON = `
set -eu
mlt="$1"
state="\${XDG_STATE_HOME:-$HOME/.local/state}/mltoolbox"
mkdir -p "$state"
pidfile="$state/mlt-daemon.pid"
stop_background() {
  if [ -f "$pidfile" ]; then
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    case "$pid" in ''|*[!0-9]*) ;; *) kill "$pid" 2>/dev/null || true ;; esac
    rm -f "$pidfile"
  fi
}
if command -v systemctl >/dev/null 2>&1 && systemctl --user show-environment >/dev/null 2>&1; then
  stop_background
  units="\${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
  mkdir -p "$units"
  cat > "$units/mlt-daemon.service" <<UNIT
[Unit]
Description=mltoolbox relay agent (mlt daemon)
After=network-online.target

[Service]
ExecStart=$mlt daemon
Restart=always
RestartSec=5

[Install]
WantedBy=default.target
UNIT
  systemctl --user daemon-reload
  systemctl --user enable mlt-daemon.service >/dev/null 2>&1
  systemctl --user restart mlt-daemon.service
  loginctl enable-linger "$(id -un)" >/dev/null 2>&1 || true
  echo mode=systemd
else
  stop_background
  # A supervisor loop: restarts mlt daemon 5 s after it exits; TERM stops both.
  nohup sh -c 'echo $$ > "$1"; child=; trap '"'"'[ -n "$child" ] && kill "$child" 2>/dev/null; exit 0'"'"' TERM INT HUP
    while :; do "$2" daemon >>"$3" 2>&1 & child=$!; wait "$child" || true; sleep 5; done' \\
    mlt-daemon-supervisor "$pidfile" "$mlt" "$state/mlt-daemon.log" </dev/null >/dev/null 2>&1 &
  i=0
  while [ ! -s "$pidfile" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s "$pidfile" ] || { echo "the supervisor did not start" >&2; exit 1; }
  echo mode=background
fi
`;

export async function addHost(options: { store: RelayStore; shell: HostShell; host: string; target: string; relayUrl: string; now: Date }): Promise<AddHostResult> {
  const { store, shell, host, target } = options;
  const found = await shell.run(['sh', '-c', FIND_MLT]);
  const mlt = /^mlt=(.*)$/m.exec(found.stdout)?.[1]?.trim() ?? '';
  if (mlt === '') {
    throw new UserError('RELAY_AGENT_MISSING', `mlt is not installed on ${target}`, `install the agent first: mltoolbox agent install ${target} (or mltoolbox connect ${target}), then run this again`);
  }
  if (!/^\/[A-Za-z0-9/._+-]+$/.test(mlt)) {
    throw new UserError('RELAY_AGENT_MISSING', `mlt on ${target} is at an unusual path (${mlt.slice(0, 200)})`, 'install it into ~/.local/bin or /usr/local/bin (mltoolbox agent install)');
  }
  const issued = await issueHostToken(store, host, options.now);
  try {
    const written = await shell.run(['sh', '-c', WRITE_CONFIG], `${JSON.stringify({ url: options.relayUrl, token: issued.token, host })}\n`);
    if (written.code !== 0) throw new UserError('RELAY_DAEMON_START_FAILED', `cannot write the agent's relay settings on ${target}: ${written.stderr.trim().split('\n').pop() ?? ''}`, 'check the home folder on the host is writable');
    const started = await shell.run(['sh', '-c', START_DAEMON, 'mlt-add-host', mlt]);
    const mode = /^mode=(systemd|background)$/m.exec(started.stdout)?.[1] as DaemonMode | undefined;
    if (started.code !== 0 || !mode) {
      throw new UserError('RELAY_DAEMON_START_FAILED', `mlt daemon did not start on ${target}: ${started.stderr.trim().split('\n').pop() ?? `exit ${started.code}`}`,
        `look on the host: systemctl --user status mlt-daemon, or ~/.local/state/mltoolbox/mlt-daemon.log`);
    }
    return { host, tokenId: issued.record.id, replacedTokens: issued.replaced, mode, mlt };
  } catch (error) {
    await store.revokeToken(issued.record.id, new Date().toISOString()).catch(() => {});
    throw error;
  }
}

/** The relay's name for a host: the target's host part (`ubuntu@gpu-box:2222` → `gpu-box`). */
export function defaultHostName(target: string): string {
  const withoutScheme = target.replace(/^ssh:\/\//i, '');
  const hostPort = withoutScheme.replace(/^[^@]*@/, '');
  const bracketed = /^\[([^\]]+)\]/.exec(hostPort);
  // [v6]:port → v6; host:port → host; a bare IPv6 address keeps its colons (as dashes).
  const host = bracketed ? bracketed[1]! : (hostPort.split(':').length === 2 ? hostPort.replace(/:\d*$/, '') : hostPort);
  return host.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 128) || 'host';
}
