import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../../../core/errors.ts';
import { stringOption, type CommandRun } from '../../command.ts';
import { cliVersion } from '../../version.ts';
import { RELAY_NODE_FLAGS } from '../../../orchestrators/images/relay-image.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * The relay is a long-lived server: it runs with the memory flags of
 * docs/relay.md#memory. Started without them, the process replaces itself
 * (same pid, same stdio) with one that has them; MLTOOLBOX_RELAY_NODE_FLAGS
 * overrides them ('' for none).
 */
function withMemoryFlags(env: NodeJS.ProcessEnv): void {
  const wanted = env.MLTOOLBOX_RELAY_NODE_FLAGS === undefined ? RELAY_NODE_FLAGS : env.MLTOOLBOX_RELAY_NODE_FLAGS.split(/\s+/).filter(Boolean);
  if (wanted.length === 0 || wanted.every((flag) => process.execArgv.includes(flag)) || typeof process.execve !== 'function' || !process.argv[1]) return;
  if (wanted.some((flag) => !/^--[a-z0-9-]+(=[A-Za-z0-9.]+)?$/.test(flag))) throw new UserError('USAGE', 'MLTOOLBOX_RELAY_NODE_FLAGS holds something that is not a Node flag', "e.g. MLTOOLBOX_RELAY_NODE_FLAGS='--max-semi-space-size=1', or '' for none");
  process.execve(process.execPath, [process.execPath, ...wanted, ...process.execArgv, process.argv[1], ...process.argv.slice(2)], { ...env, MLTOOLBOX_RELAY_NODE_FLAGS: wanted.join(' ') });
}

export const run: CommandRun = async (context, input) => {
  withMemoryFlags(context.app.environment.env);
  const portText = stringOption(input, 'port') ?? '7878';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UserError('USAGE', `--port ${portText.slice(0, 20)} is not a TCP port`, 'pass a number from 1 to 65535 (0 picks a free one)');
  const host = stringOption(input, 'host') ?? '127.0.0.1';
  const cert = stringOption(input, 'tls-cert');
  const key = stringOption(input, 'tls-key');
  if ((cert === undefined) !== (key === undefined)) throw new UserError('RELAY_TLS_INVALID', 'TLS needs both --tls-cert and --tls-key', 'pass both PEM files, or neither for plain HTTP on loopback');
  const tls = cert && key ? { cert: resolve(context.globals.projectDir, cert), key: resolve(context.globals.projectDir, key) } : undefined;
  for (const file of tls ? [tls.cert, tls.key] : []) {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new UserError('RELAY_TLS_INVALID', `cannot read ${file}`, 'check the path and that this user may read it');
    }
  }
  if (!tls && !LOOPBACK.test(host)) {
    context.reporter.warn(`listening on ${host} without TLS: tokens cross the network in clear text; pass --tls-cert and --tls-key (or put the relay behind a TLS proxy)`);
  }

  const relay = await context.app.relay();
  let running;
  try {
    running = await relay.serve({ host, port, ...(tls ? { tls } : {}), version: cliVersion(), log: (line) => context.reporter.debug(`relay: ${line}`) });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UserError('RELAY_LISTEN_FAILED', `cannot listen on ${host}:${port} (${code})`, code === 'EADDRINUSE' ? 'another program uses that port: pick another with --port' : 'pick an address of this machine and a port above 1023', { cause: error });
    }
    if (/PEM|certificate|key/i.test(String(error)) && tls) throw new UserError('RELAY_TLS_INVALID', `the TLS certificate or key was refused: ${String((error as Error).message).split('\n')[0]}`, 'pass a PEM certificate and its matching private key', { cause: error });
    throw error;
  }
  // The one line scripts wait for (port 0 picks one); the rest goes to stderr.
  context.stdout.write(`relay listening on ${running.url}\n`);
  context.reporter.info(`dashboard: ${running.url}/ (log in with a token from: mltoolbox relay token create --name NAME)`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  return { result: { url: running.url, stopped: true } };
};
