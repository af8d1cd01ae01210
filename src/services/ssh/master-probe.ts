import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import type { ResolvedHost } from './types.ts';

/** OpenSSH's multiplexing protocol: on accept, the master sends MUX_MSG_HELLO (a u32 length, then type 1). */
const MUX_MSG_HELLO = 0x00000001;
const PROBE_TIMEOUT_MS = 2000;

/**
 * Whether a master answers on its control socket: the master's hello, read
 * in-process (about 1 ms) instead of spawning `ssh -O check` (~30 ms a
 * process). Only a running master's event loop sends it, so a stale socket
 * file (a killed master) or a hung one reads as false; callers then fall back
 * to `ssh -O check` and a full connect.
 */
export function masterAnswers(controlPath: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(controlPath);
    let received = Buffer.alloc(0);
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 8) done(received.readUInt32BE(4) === MUX_MSG_HELLO);
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/**
 * What `ssh -G` said about a host when we started its master, saved beside
 * the state so a later command that finds the same master alive needs no
 * `ssh -G` (the options it feeds — StrictHostKeyChecking, ConnectTimeout —
 * stay exactly what they were). Tied to that master by the socket's inode and
 * birth time: a master someone else restarted is resolved again.
 */
interface SavedResolution {
  socket: { ino: number; ctimeMs: number };
  resolved: ResolvedHost;
}

function savedFile(dir: string, controlPath: string): string {
  return join(dir, `${basename(controlPath)}.json`);
}

function socketId(controlPath: string): SavedResolution['socket'] | undefined {
  try {
    const info = statSync(controlPath);
    return { ino: info.ino, ctimeMs: info.ctimeMs };
  } catch {
    return undefined;
  }
}

export function saveResolution(dir: string, controlPath: string, resolved: ResolvedHost): void {
  const socket = socketId(controlPath);
  if (!socket) return;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = savedFile(dir, controlPath);
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ socket, resolved } satisfies SavedResolution), { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // Only an optimisation: the next command runs ssh -G.
  }
}

export function loadResolution(dir: string, controlPath: string): ResolvedHost | undefined {
  try {
    const saved = JSON.parse(readFileSync(savedFile(dir, controlPath), 'utf8')) as SavedResolution;
    const socket = socketId(controlPath);
    if (!socket || socket.ino !== saved.socket.ino || socket.ctimeMs !== saved.socket.ctimeMs) return undefined;
    const r = saved.resolved;
    if (typeof r?.hostname !== 'string' || typeof r.port !== 'number' || typeof r.user !== 'string' || typeof r.strictHostKeyChecking !== 'string') return undefined;
    return r;
  } catch {
    return undefined;
  }
}
