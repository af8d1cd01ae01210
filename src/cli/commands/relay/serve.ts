import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../../../core/errors.ts';
import { stringOption, type CommandRun } from '../../command.ts';
import { cliVersion } from '../../version.ts';
import { RELAY_NODE_FLAGS } from '../../../orchestrators/images/relay-image.ts';
import { RELAY_DB_PASSWORD_ENV, RELAY_SERVE_ENV, RELAY_VERBOSE_ENV, type RelayServeRequest } from '../../../app/relay-deps.ts';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * The relay is a long-lived server: once its options and settings are read,
 * `relay serve` replaces itself (process.execve: same pid, same stdio) with
 * the relay-only bundle dist/relay/main.js under the memory flags of
 * docs/relay.md#memory, so the CLI's code and zod are not kept in memory.
 * MLTOOLBOX_RELAY_NODE_FLAGS overrides the flags ('' for none). Without that
 * bundle (running from the sources) or process.execve, it serves in-process.
 */
function execRelayBundle(request: RelayServeRequest, env: NodeJS.ProcessEnv, verbose: boolean): void {
  const flags = env.MLTOOLBOX_RELAY_NODE_FLAGS === undefined ? RELAY_NODE_FLAGS : env.MLTOOLBOX_RELAY_NODE_FLAGS.split(/\s+/).filter(Boolean);
  if (flags.some((flag) => !/^--[a-z0-9-]+(=[A-Za-z0-9.]+)?$/.test(flag))) throw new UserError('USAGE', 'MLTOOLBOX_RELAY_NODE_FLAGS holds something that is not a Node flag', "e.g. MLTOOLBOX_RELAY_NODE_FLAGS='--max-semi-space-size=1', or '' for none");
  const bundle = relayBundlePath();
  if (!bundle || typeof process.execve !== 'function') return;
  const { password, ...database } = request.database;
  const handover: NodeJS.ProcessEnv = { ...env, [RELAY_SERVE_ENV]: JSON.stringify({ ...request, database }), [RELAY_VERBOSE_ENV]: verbose ? '1' : '0' };
  if (password) handover[RELAY_DB_PASSWORD_ENV] = password;
  process.execve(process.execPath, [process.execPath, ...flags, bundle], handover as Record<string, string>);
}

/** dist/relay/main.js next to the running CLI bundle (bin/mltoolbox.js → dist/cli.js), when there is one. */
function relayBundlePath(): string | undefined {
  const entry = process.argv[1];
  if (!entry) return undefined;
  try {
    const bundle = join(dirname(realpathSync(entry)), '..', 'dist', 'relay', 'main.js');
    return existsSync(bundle) ? bundle : undefined;
  } catch {
    return undefined;
  }
}

export const run: CommandRun = async (context, input) => {
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
  const request: RelayServeRequest = { host, port, ...(tls ? { tls } : {}), version: cliVersion(), database: await relay.databaseSettings() };
  execRelayBundle(request, context.app.environment.env, context.globals.verbose);
  const result = await relay.serve(request, { stdout: context.stdout, info: (line) => context.reporter.info(line), debug: (line) => context.reporter.debug(line) });
  return { result };
};
