import { randomBytes } from 'node:crypto';
import { nvidiaSmiQueryArgs } from '../gpu/nvidia-smi.ts';
import { joinShellCommand, quoteShellArg } from '../../core/shell-quote.ts';
import { engineSocketScript, type EngineKind } from '../containers/engine-socket.ts';
import { FACTS_SCRIPT } from './host-facts.ts';

/**
 * The host probe: one POSIX sh script that gathers everything doctor needs
 * in a single round trip, printing each finding between marker lines. A
 * per-run random marker keeps output from the user's shell start-up files
 * (which may print to stdout too) out of the sections.
 */

export const DOCKER_TIMEOUT_S = 10;
export const NVIDIA_SMI_TIMEOUT_S = 20;

export interface ProbeOptions {
  gpu: boolean;
  /**
   * environment.engine and remote.docker_socket: with podman or auto, the probe
   * also finds the engine's socket (section engine_socket) and asks Podman there
   * (podman_cli, podman_service).
   */
  engine?: { kind: EngineKind; socket?: string };
  /** Bound on each Docker daemon request (default DOCKER_TIMEOUT_S). */
  dockerTimeoutS?: number;
}

export interface ProbeSection {
  output: string;
  code: number;
}

export type ProbeSections = Map<string, ProbeSection>;

export function newMarker(): string {
  return `@@mlt-${randomBytes(6).toString('hex')}`;
}

export function buildProbeScript(options: ProbeOptions & { marker: string }): string {
  const nvidiaSmi = joinShellCommand(['nvidia-smi', ...nvidiaSmiQueryArgs()]);
  const lines = [
    `M='${options.marker}'`,
    `mlt_begin() { printf '\\n%s begin %s\\n' "$M" "$1"; }`,
    `mlt_end() { printf '\\n%s end %s %s\\n' "$M" "$1" "$2"; }`,
    `mlt_run() { n=$1; shift; mlt_begin "$n"; "$@" 2>&1; c=$?; mlt_end "$n" "$c"; }`,
    // GNU/busybox timeout when present; else a watchdog, so a hung daemon cannot hang doctor.
    `mlt_timeout() {`,
    `  t=$1; shift`,
    `  if command -v timeout >/dev/null 2>&1; then timeout "$t" "$@"; return $?; fi`,
    `  "$@" & p=$!`,
    `  ( sleep "$t"; kill -9 "$p" ) >/dev/null 2>&1 & w=$!`,
    `  wait "$p"; c=$?; kill "$w" 2>/dev/null; return $c`,
    `}`,
    `mlt_has() { command -v "$1" >/dev/null 2>&1; }`,
    `mlt_missing() { mlt_begin "$1"; printf '%s: not found\\n' "$2"; mlt_end "$1" 127; }`,
    `mlt_os() { uname -srm; if [ -r /etc/os-release ]; then ( . /etc/os-release; printf '%s\\n' "\${PRETTY_NAME:-$NAME}" ); fi; }`,
    `mlt_user() { id -un; id -Gn; }`,
    `mlt_disk() { df -Pk "$HOME" | tail -n 1; }`,
    ...FACTS_SCRIPT,
    `mlt_run os mlt_os`,
    `mlt_run facts mlt_facts`,
    `mlt_run user mlt_user`,
    `mlt_run home printf '%s\\n' "$HOME"`,
    `if mlt_has docker; then`,
    `  mlt_run docker_cli docker --version`,
    // One daemon round trip: version, then the registered runtimes.
    `  mlt_run docker_daemon mlt_timeout ${options.dockerTimeoutS ?? DOCKER_TIMEOUT_S} docker info --format '{{.ServerVersion}}{{"\\n"}}{{json .Runtimes}}'`,
    `else mlt_missing docker_cli docker; fi`,
    ...podmanLines(options),
    `if mlt_has rsync; then mlt_run rsync rsync --version; else mlt_missing rsync rsync; fi`,
    `mlt_run disk mlt_disk`,
  ];
  if (options.gpu) {
    lines.push(
      `if mlt_has nvidia-smi; then mlt_run nvidia_smi mlt_timeout ${NVIDIA_SMI_TIMEOUT_S} ${nvidiaSmi}; else mlt_missing nvidia_smi nvidia-smi; fi`,
      `mlt_toolkit() {`,
      `  for b in nvidia-container-runtime-hook nvidia-container-cli nvidia-ctk nvidia-container-runtime; do mlt_has "$b" && printf 'bin %s\\n' "$(command -v "$b")"; done`,
      `  for f in /etc/cdi/*.yaml /etc/cdi/*.json /var/run/cdi/*.yaml /var/run/cdi/*.json; do [ -f "$f" ] && grep -qi nvidia "$f" 2>/dev/null && printf 'cdi %s\\n' "$f"; done`,
      `  return 0`,
      `}`,
      `mlt_run nvidia_toolkit mlt_toolkit`,
    );
  }
  lines.push(`printf '\\n%s done\\n' "$M"`, '');
  return lines.join('\n');
}

/** Podman's findings: which socket, its CLI, and a version asked through that socket (so: the API answers). */
function podmanLines(options: ProbeOptions & { marker: string }): string[] {
  const kind = options.engine?.kind ?? 'docker';
  if (kind === 'docker') return [];
  const socket = options.engine?.socket ? `echo ${quoteShellArg(options.engine.socket)}` : engineSocketScript(kind);
  return [
    `mlt_engine_socket() { ${socket}; }`,
    `S=$(mlt_engine_socket | tail -n 1)`,
    `mlt_run engine_socket printf '%s\\n' "$S"`,
    `if mlt_has podman; then`,
    `  mlt_run podman_cli podman --version`,
    `  mlt_run podman_service mlt_timeout ${options.dockerTimeoutS ?? DOCKER_TIMEOUT_S} podman --remote --url "unix://$S" version --format '{{.Server.Version}}'`,
    `else mlt_missing podman_cli podman; fi`,
  ];
}

/** Reads the sections back; output outside the markers (shell start-up noise) is ignored. */
export function parseProbeOutput(stdout: string, marker: string): { sections: ProbeSections; complete: boolean } {
  const sections: ProbeSections = new Map();
  let current: { name: string; lines: string[] } | undefined;
  let complete = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(`${marker} `)) {
      const [, word, name, code] = line.split(' ');
      if (word === 'begin' && name) current = { name, lines: [] };
      else if (word === 'end' && current && name === current.name) {
        sections.set(current.name, { output: current.lines.join('\n').trim(), code: Number(code) });
        current = undefined;
      } else if (word === 'done') complete = true;
      continue;
    }
    current?.lines.push(line);
  }
  return { sections, complete };
}
