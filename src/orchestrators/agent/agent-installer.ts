import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../core/errors.ts';
import type { Host } from '../../services/host/types.ts';
import { STOP_SERVERS_SCRIPT } from '../../services/ssh/fast-channel.ts';

/**
 * The mlt agent on a host: find out what is installed (one round trip),
 * decide, and install through the host's Host (the SSH connection mltoolbox
 * already has) — the
 * executable travels gzip-compressed on the connection's stdin, is checked
 * against its sha256 on the host, and replaces the old one with a rename
 * (never a half-written mlt). Nothing is downloaded on the host.
 */

export type AgentArch = 'x64' | 'arm64';

/** dist/agent/manifest.json, written by scripts/build-agent.mjs. */
export interface AgentManifest {
  version: string;
  build: string;
  node: string;
  files: Partial<Record<AgentArch, { size: number; sha256: string; gzSize: number }>>;
}

export interface LocalAgent {
  dir: string;
  manifest: AgentManifest;
}

/** What `mlt --version` prints for a build. */
export function agentVersionLine(manifest: Pick<AgentManifest, 'version' | 'build'>): string {
  return `${manifest.version} (build ${manifest.build})`;
}

/** The built agent next to this code: dist/agent (bundle) or <repo>/dist/agent (sources), or MLTOOLBOX_AGENT_DIR. */
export async function findLocalAgent(env: NodeJS.ProcessEnv, here: string = dirname(fileURLToPath(import.meta.url))): Promise<LocalAgent | undefined> {
  const candidates = [env.MLTOOLBOX_AGENT_DIR, join(here, 'agent'), join(here, '..', 'agent'), join(here, '..', '..', '..', 'dist', 'agent')];
  for (const dir of candidates) {
    if (!dir || !existsSync(join(dir, 'manifest.json'))) continue;
    return { dir, manifest: JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as AgentManifest };
  }
  return undefined;
}

export interface RemoteAgent {
  /** `uname -sm`, e.g. "Linux x86_64". */
  system: string;
  arch: AgentArch | undefined;
  root: boolean;
  /** Where mlt is (or would be) installed on the host, absolute. */
  path: string;
  /** The first line of the installed mlt's --version, or undefined when there is none. */
  installed: string | undefined;
}

const MARK = 'mlt-probe:';

/** One round trip: system, user, install path, installed version. `$1`: the configured install folder or ''. */
const PROBE = `
dir=$1
if [ -z "$dir" ]; then if [ "$(id -u)" = 0 ]; then dir=/usr/local/bin; else dir="$HOME/.local/bin"; fi; fi
case $dir in "~/"*) dir="$HOME/\${dir#??}" ;; esac
printf '${MARK}system=%s\\n' "$(uname -sm)"
printf '${MARK}uid=%s\\n' "$(id -u)"
printf '${MARK}path=%s\\n' "$dir/mlt"
if [ -x "$dir/mlt" ]; then printf '${MARK}installed=%s\\n' "$("$dir/mlt" --version 2>/dev/null | head -n 1)"; fi
`;

export function parseProbe(stdout: string): RemoteAgent {
  const values = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    if (line.startsWith(MARK)) {
      const eq = line.indexOf('=');
      values.set(line.slice(MARK.length, eq), line.slice(eq + 1).trim());
    }
  }
  const system = values.get('system') ?? '';
  const machine = system.split(' ')[1] ?? '';
  const arch: AgentArch | undefined = !system.startsWith('Linux') ? undefined : machine === 'x86_64' || machine === 'amd64' ? 'x64' : machine === 'aarch64' || machine === 'arm64' ? 'arm64' : undefined;
  const path = values.get('path') ?? '';
  if (!path.startsWith('/')) {
    throw new UserError('REMOTE_COMMAND_FAILED', 'could not read the host\'s system and home folder for the agent', 'check that the remote user has a home folder: ssh HOST \'uname -sm; echo $HOME\'');
  }
  const installed = values.get('installed');
  return { system, arch, root: values.get('uid') === '0', path, installed: installed ? installed : undefined };
}

export async function probeAgent(host: Host, installDir: string | undefined): Promise<RemoteAgent> {
  const result = await host.execScript(PROBE, { args: [installDir ?? ''], timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    throw new UserError('REMOTE_COMMAND_FAILED', `could not ask ${host.name} about its mlt agent: ${lastLines(result.stderr) || `exit code ${result.exitCode}`}`,
      `check that the host runs a POSIX shell: ssh ${host.name} 'uname -sm; id -u'`);
  }
  return parseProbe(result.stdout);
}

export type AgentDecision =
  | { action: 'current' }
  | { action: 'install' | 'upgrade'; from?: string }
  /** The host's agent is newer than this client: leave it, warn. */
  | { action: 'newer-on-host'; installed: string }
  | { action: 'unsupported'; why: string };

function semver(text: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Same version and build: nothing to do. An older version or another build of the same: replace. A newer version: keep. */
export function decideAgent(local: AgentManifest, remote: RemoteAgent): AgentDecision {
  if (!remote.arch) return { action: 'unsupported', why: `the agent runs on Linux x86_64 and aarch64; this host is ${remote.system || 'unknown'}` };
  if (!local.files[remote.arch]) return { action: 'unsupported', why: `this mltoolbox has no linux-${remote.arch} agent built (npm run build:agent)` };
  if (remote.installed === undefined) return { action: 'install' };
  if (remote.installed === agentVersionLine(local)) return { action: 'current' };
  const theirs = semver(remote.installed);
  const ours = semver(local.version);
  if (theirs && ours && compare(theirs, ours) > 0) return { action: 'newer-on-host', installed: remote.installed };
  return { action: 'upgrade', from: remote.installed };
}

/**
 * Unpacks stdin into a temporary file next to the target, checks its
 * sha256, then renames it over mlt. $1: the final path, $2: the expected hash.
 */
const INSTALL = `set -eu
path=$1; want=$2; dir=\${path%/*}
mkdir -p "$dir"
tmp=$(mktemp "$dir/.mlt.XXXXXX")
trap 'rm -f "$tmp"' EXIT
gzip -dc > "$tmp"
if command -v sha256sum >/dev/null 2>&1; then got=$(sha256sum "$tmp"); else got=$(shasum -a 256 "$tmp"); fi
got=\${got%% *}
if [ "$got" != "$want" ]; then echo "the uploaded agent's sha256 is $got, expected $want" >&2; exit 65; fi
chmod 755 "$tmp"
mv -f "$tmp" "$path"
trap - EXIT
"$path" --version`;

export interface InstallOutcome {
  path: string;
  version: string;
  bytes: number;
  ms: number;
}

const lastLines = (text: string) => text.trim().split('\n').slice(-3).join(' ');

export async function installAgent(host: Host, local: LocalAgent, remote: RemoteAgent): Promise<InstallOutcome> {
  const arch = remote.arch!;
  const file = local.manifest.files[arch];
  if (!file) throw new UserError('AGENT_NOT_BUILT', `this mltoolbox has no linux-${arch} agent`, 'run npm run build:agent in the mltoolbox checkout (it builds linux-x64 and linux-arm64)');
  const compressed = await readFile(join(local.dir, `mlt-linux-${arch}.gz`)).catch(() => {
    throw new UserError('AGENT_NOT_BUILT', `the agent file mlt-linux-${arch}.gz is missing from ${local.dir}`, 'run npm run build (or npm run build:agent) again');
  });
  const started = Date.now();
  const result = await host.exec(['sh', '-c', INSTALL, 'sh', remote.path, file.sha256], { input: compressed, timeoutMs: 15 * 60_000 });
  if (result.exitCode !== 0) {
    const why = lastLines(result.stderr) || `exit code ${result.exitCode}`;
    throw new UserError('AGENT_INSTALL_FAILED', `installing mlt at ${remote.path} failed: ${why}`, 'nothing was replaced; fix what the message says (disk space, permissions) and run mltoolbox agent install again');
  }
  const version = result.stdout.trim().split('\n').pop() ?? '';
  if (version !== agentVersionLine(local.manifest)) {
    throw new UserError('AGENT_INSTALL_FAILED', `the installed mlt at ${remote.path} answers ${JSON.stringify(version)}, expected ${agentVersionLine(local.manifest)}`,
      'the host may not run the executable (noexec home?); set agent.install_dir to another folder, then run mltoolbox agent install again');
  }
  return { path: remote.path, version, bytes: compressed.length, ms: Date.now() - started };
}

export async function removeAgent(host: Host, remote: RemoteAgent): Promise<boolean> {
  if (remote.installed === undefined) return false;
  // Its fast-channel server (mlt serve) stops with it; nothing else of the agent is ended (an idle watcher keeps watching).
  const result = await host.execScript(`${STOP_SERVERS_SCRIPT}\nrm -f -- "$a"`, { args: [remote.path], timeoutMs: 30_000 });
  if (result.exitCode !== 0) {
    throw new UserError('REMOTE_COMMAND_FAILED', `could not remove ${host.name}:${remote.path}: ${lastLines(result.stderr) || `exit code ${result.exitCode}`}`,
      `check the folder's permissions: ssh ${host.name} ls -l ${remote.path}`);
  }
  return true;
}
