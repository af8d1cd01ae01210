import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * `mlt daemon [--config FILE] [--interval SECONDS]`. The relay's URL and this
 * host's token come from the file `mltoolbox relay add-host` writes (mode
 * 0600; default ~/.config/mltoolbox/relay-agent.json) or from
 * MLT_RELAY_URL / MLT_RELAY_TOKEN — never from argv, where `ps` shows them.
 */
export const DAEMON_HELP = `mlt daemon — connect this host to an mltoolbox relay (runs until stopped)

Usage: mlt daemon [--config FILE] [--interval SECONDS]

  --config FILE        relay URL and host token (default: ~/.config/mltoolbox/relay-agent.json)
  --interval SECONDS   how often metrics are sent (default: 2)

Environment: MLT_RELAY_URL and MLT_RELAY_TOKEN override the file.
Installed and started by: mltoolbox relay add-host TARGET`;

export function agentConfigPath(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'mltoolbox', 'relay-agent.json');
}

export interface DaemonSettings {
  url: string;
  token: string;
  intervalMs: number;
}

export function readDaemonSettings(argv: readonly string[], env: NodeJS.ProcessEnv): DaemonSettings {
  const { values } = parseArgs({ args: [...argv], options: { config: { type: 'string' }, interval: { type: 'string' } }, strict: true });
  const file = values.config ?? agentConfigPath(env);
  let fromFile: { url?: unknown; token?: unknown } = {};
  if (!env.MLT_RELAY_URL || !env.MLT_RELAY_TOKEN) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as typeof fromFile;
    } catch (error) {
      throw new Error(`cannot read ${file}: ${(error as Error).message}. Run 'mltoolbox relay add-host THIS_HOST' on your machine, or set MLT_RELAY_URL and MLT_RELAY_TOKEN`);
    }
  }
  const url = env.MLT_RELAY_URL || (typeof fromFile.url === 'string' ? fromFile.url : '');
  const token = env.MLT_RELAY_TOKEN || (typeof fromFile.token === 'string' ? fromFile.token : '');
  if (!/^https?:\/\//.test(url)) throw new Error(`no relay URL (got '${url.slice(0, 100)}'); expected http(s)://HOST:PORT in ${file} or MLT_RELAY_URL`);
  if (token === '') throw new Error(`no relay token in ${file} or MLT_RELAY_TOKEN`);
  const seconds = values.interval === undefined ? 2 : Number(values.interval);
  if (!Number.isFinite(seconds) || seconds < 0.2 || seconds > 3600) throw new Error(`--interval must be a number of seconds between 0.2 and 3600 (got ${values.interval})`);
  return { url, token, intervalMs: Math.round(seconds * 1000) };
}

/** The `mlt daemon` entry: one registration line in the agent's command table calls this. */
export async function daemonCommand(argv: readonly string[], io: { env: NodeJS.ProcessEnv; out: (t: string) => void; err: (t: string) => void; version: string }): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(`${DAEMON_HELP}\n`);
    return 0;
  }
  let settings: DaemonSettings;
  try {
    settings = readDaemonSettings(argv, io.env);
  } catch (error) {
    io.err(`error: ${(error as Error).message} [USAGE]\nhint: mlt daemon --help\n`);
    return 2;
  }
  const { runDaemon } = await import('./daemon.ts');
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const log = (line: string) => io.err(`${new Date().toISOString()} mlt daemon: ${line}\n`);
  log(`starting (relay ${new URL(settings.url).origin}, every ${settings.intervalMs} ms)`);
  await runDaemon({ ...settings, env: io.env, version: io.version, log, signal: controller.signal });
  log('stopped');
  return 0;
}
