import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync, constants as fs } from 'node:fs';
import { readFile, readdir, readlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseNvidiaSmi } from '../../core/gpu/nvidia-smi.ts';
import { processAlive } from '../../infrastructure/file-lock.ts';
import { NVIDIA_SMI_ARGS } from '../../services/gpu/status.ts';
import { busiestGpu, type IdleSample } from './decide.ts';

/**
 * What the idle watcher reads on a Linux host: established TCP connections
 * to sshd (/proc/net/tcp, tcp6), logged-in ttys (utmp), `mlt` sessions and
 * jobs (/proc/PID/cmdline) and the GPUs (nvidia-smi through the shared
 * parser). Every reader is best effort: what cannot be read counts as nothing.
 */

/** ESTABLISHED connections whose local port is one of `ports`, from /proc/net/tcp's text. */
export function parseProcNetTcp(text: string, ports: ReadonlySet<number>): string[] {
  const found: string[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4 || fields[3] !== '01') continue;
    const local = fields[1]!;
    const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (ports.has(port)) found.push(`${local}-${fields[2]}`);
  }
  return found;
}

export interface UtmpEntry { pid: number; line: string; user: string }

/** USER_PROCESS records of a glibc utmp file (384-byte records). */
export function parseUtmp(data: Buffer): UtmpEntry[] {
  const entries: UtmpEntry[] = [];
  const text = (at: number, length: number) => data.subarray(at, at + length).toString('utf8').replace(/\0.*$/s, '');
  for (let at = 0; at + 384 <= data.length; at += 384) {
    if (data.readInt32LE(at) !== 7) continue;
    entries.push({ pid: data.readInt32LE(at + 4), line: text(at + 8, 32), user: text(at + 44, 32) });
  }
  return entries;
}

export type MltProcess = 'job' | 'session';

/** An mlt command line: `run` is a job; `shell`, `ssh-server`, `lsp-proxy` are sessions. */
export function classifyMlt(argv: readonly string[]): MltProcess | undefined {
  const at = argv.findIndex((arg, i) => i < 3 && (basename(arg) === 'mlt' || /agent[\\/]main\.(js|ts)$|dist[\\/]agent[\\/]/.test(arg)));
  if (at < 0) return undefined;
  for (let i = at + 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-p' || arg === '--project') { i++; continue; }
    if (arg.startsWith('-')) continue;
    if (arg === 'run') return 'job';
    if (arg === 'shell' || arg === 'ssh-server' || arg === 'lsp-proxy') return 'session';
    return undefined;
  }
  return undefined;
}

export interface HostReaders {
  connections(ports: ReadonlySet<number>): Promise<string[]>;
  /** Terminals to warn, and how many interactive sessions there are. */
  sessions(): Promise<{ count: number; jobs: number; ttys: string[] }>;
  gpuPercent(): Promise<number>;
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

export function createHostReaders(env: NodeJS.ProcessEnv, self: number = process.pid): HostReaders {
  return {
    async connections(ports) {
      const [v4, v6] = await Promise.all([readText('/proc/net/tcp'), readText('/proc/net/tcp6')]);
      return [...parseProcNetTcp(v4, ports), ...parseProcNetTcp(v6, ports)];
    },
    async sessions() {
      const ttys = new Set<string>();
      let count = 0;
      let jobs = 0;
      let utmp: Buffer | undefined;
      try {
        utmp = await readFile('/var/run/utmp');
      } catch {
        utmp = undefined;
      }
      for (const entry of utmp ? parseUtmp(utmp) : []) {
        if (!processAlive(entry.pid)) continue;
        count++;
        if (/^(pts\/\d+|tty\d+)$/.test(entry.line)) ttys.add(`/dev/${entry.line}`);
      }
      let pids: string[] = [];
      try {
        pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name) && Number(name) !== self);
      } catch {
        pids = [];
      }
      for (const pid of pids) {
        const argv = (await readText(`/proc/${pid}/cmdline`)).split('\0').filter(Boolean);
        const kind = classifyMlt(argv);
        if (!kind) continue;
        if (kind === 'job') jobs++;
        else count++;
        const tty = await readlink(`/proc/${pid}/fd/0`).catch(() => '');
        if (/^\/dev\/pts\/\d+$/.test(tty)) ttys.add(tty);
      }
      return { count, jobs, ttys: [...ttys] };
    },
    gpuPercent: () => new Promise((resolve) => {
      execFile(env.MLT_NVIDIA_SMI || 'nvidia-smi', NVIDIA_SMI_ARGS, { timeout: 15_000 }, (error, stdout) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
        const report = parseNvidiaSmi(stdout, code);
        resolve(report.kind === 'gpus' ? busiestGpu(report.gpus.map((g) => g.utilizationPercent)) : 0);
      });
    }),
  };
}

export async function sample(readers: HostReaders, ports: ReadonlySet<number>, now: number): Promise<IdleSample & { ttys: string[] }> {
  const [connections, sessions, gpuPercent] = await Promise.all([readers.connections(ports), readers.sessions(), readers.gpuPercent()]);
  return { at: now, connections, sessions: sessions.count, jobs: sessions.jobs, gpuPercent, ttys: sessions.ttys };
}

/** wall-like: the message on each terminal; one that cannot be written to is skipped. */
export function writeToTerminals(ttys: readonly string[], message: string): number {
  let reached = 0;
  const text = `\r\n\x07*** mltoolbox: ${message.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '?')} ***\r\n`;
  for (const tty of ttys) {
    let fd: number | undefined;
    try {
      fd = openSync(tty, fs.O_WRONLY | fs.O_NOCTTY | fs.O_NONBLOCK);
      writeSync(fd, text);
      reached++;
    } catch {
      // Gone, or not ours.
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return reached;
}
