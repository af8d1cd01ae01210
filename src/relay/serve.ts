import type { Writable } from 'node:stream';
import { UserError } from '../core/errors.ts';
import type { RelayDatabaseSettings } from './admin.ts';

/** How `relay serve` hands over to dist/relay/main.js (environment, never argv: the password is a secret). */
export const RELAY_SERVE_ENV = 'MLT_RELAY_SERVE';
export const RELAY_DB_PASSWORD_ENV = 'MLT_RELAY_DB_PASSWORD';
export const RELAY_VERBOSE_ENV = 'MLT_RELAY_VERBOSE';

/** Everything `relay serve` needs once its options and settings are read (the relay bundle gets it as JSON). */
export interface RelayServeRequest {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  version: string;
  database: RelayDatabaseSettings;
}

export interface RelayServeOutput {
  stdout: Writable;
  info(message: string): void;
  /** One line per request/event (with -v), never a secret. */
  debug(message: string): void;
}

/**
 * Opens the relay's database, listens, prints the URL, and serves until
 * SIGINT/SIGTERM. Run by `relay serve` itself, or by the relay-only bundle
 * (dist/relay/main.js, src/relay/main.ts) that `relay serve` replaces itself
 * with, so the long-lived process holds only the server (docs/relay.md#memory).
 */
export async function serveRelay(request: RelayServeRequest, output: RelayServeOutput): Promise<{ url: string; stopped: true }> {
  const [{ openRelayStore }, { startRelayServer }] = await Promise.all([import('./admin.ts'), import('./server/server.ts')]);
  const store = await openRelayStore(request.database);
  const { host, port, tls } = request;
  let running;
  try {
    running = await startRelayServer({ store, host, port, ...(tls ? { tls } : {}), version: request.version, log: (line) => output.debug(`relay: ${line}`) });
  } catch (error) {
    await store.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UserError('RELAY_LISTEN_FAILED', `cannot listen on ${host}:${port} (${code})`, code === 'EADDRINUSE' ? 'another program uses that port: pick another with --port' : 'pick an address of this machine and a port above 1023', { cause: error });
    }
    if (/PEM|certificate|key/i.test(String(error)) && tls) throw new UserError('RELAY_TLS_INVALID', `the TLS certificate or key was refused: ${String((error as Error).message).split('\n')[0]}`, 'pass a PEM certificate and its matching private key', { cause: error });
    throw error;
  }
  // The one line scripts wait for (port 0 picks one); the rest goes to stderr.
  output.stdout.write(`relay listening on ${running.url}\n`);
  output.info(`dashboard: ${running.url}/ (log in with a token from: mltoolbox relay token create --name NAME)`);
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
  return { url: running.url, stopped: true };
}
