import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, waitFor } from './process.ts';

export interface Keyring {
  /** Put this in the env of every process that should see the keyring. */
  env: { DBUS_SESSION_BUS_ADDRESS: string };
  /** `secret-tool` with the private bus, to look at the keyring from outside mltoolbox. */
  secretTool(args: readonly string[], input?: string): ReturnType<typeof run>;
  stop(): Promise<void>;
}

/**
 * A real Secret Service for tests: a private D-Bus session bus (socket in a
 * temp folder) and gnome-keyring-daemon on it with a fresh, unlocked login
 * keyring. Both run in the foreground as our children, so stop() ends
 * exactly them. Nothing touches the user's own bus or keyrings.
 *
 * The login keyring is created with the password "test": gnome-keyring
 * does not create a login collection from an empty password.
 */
export async function startKeyring(): Promise<Keyring> {
  const dir = await mkdtemp(join(tmpdir(), 'mlt-keyring-'));
  const runtimeDir = join(dir, 'run');
  await mkdir(runtimeDir, { mode: 0o700 });
  const address = `unix:path=${join(dir, 'bus')}`;
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children.reverse()) await terminate(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const bus = spawn('dbus-daemon', ['--session', '--nofork', `--address=${address}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(bus);
    const env = { PATH: process.env.PATH, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_RUNTIME_DIR: runtimeDir, DBUS_SESSION_BUS_ADDRESS: address };
    await waitFor('the private D-Bus session bus', async () => (await run('dbus-send', ['--session', '--dest=org.freedesktop.DBus', '--print-reply', '/org/freedesktop/DBus', 'org.freedesktop.DBus.ListNames'], { env, timeoutMs: 2000 })).code === 0, 10_000);

    const daemon = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], { env, stdio: ['pipe', 'ignore', 'pipe'] });
    children.push(daemon);
    let daemonStderr = '';
    daemon.stderr!.on('data', (chunk: Buffer) => (daemonStderr = (daemonStderr + chunk.toString()).slice(-2000)));
    daemon.stdin!.end('test');
    const secretTool = (args: readonly string[], input?: string, timeoutMs = 10_000) => run('secret-tool', args, { env, input, timeoutMs });
    // Ready when the login collection accepts a write. Each try is short (a call made before the daemon owns its
    // name can wait on D-Bus activation), the whole wait long enough for a loaded machine (once > 10 s on CI).
    await waitFor('gnome-keyring-daemon', async () => (await secretTool(['store', '--label=mlt-harness-probe', 'mlt-harness', 'probe'], 'x', 3000)).code === 0, 30_000, 200)
      .catch((error: Error) => {
        throw new Error(`${error.message}${daemonStderr ? `; gnome-keyring-daemon said: ${daemonStderr.trim()}` : ''}`);
      });
    await secretTool(['clear', 'mlt-harness', 'probe']);
    return { env: { DBUS_SESSION_BUS_ADDRESS: address }, secretTool, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
