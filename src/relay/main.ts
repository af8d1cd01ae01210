import { isUserError } from '../core/errors.ts';
import { ExitCode } from '../core/exit-codes.ts';
import { printableText } from '../core/terminal-text.ts';
import { RELAY_DB_PASSWORD_ENV, RELAY_SERVE_ENV, RELAY_VERBOSE_ENV, serveRelay, type RelayServeRequest } from './serve.ts';

/**
 * dist/relay/main.js: the relay server alone, without the CLI. `relay serve`
 * reads its options and settings, then replaces itself (process.execve: same
 * pid, same stdio) with `node <memory flags> dist/relay/main.js`, handing over the
 * request in MLT_RELAY_SERVE and the database password in
 * MLT_RELAY_DB_PASSWORD (never in argv). docs/relay.md#memory.
 */
const env = process.env;
const verbose = env[RELAY_VERBOSE_ENV] === '1';
const say = (line: string) => process.stderr.write(`${printableText(line)}\n`);
try {
  const request = JSON.parse(env[RELAY_SERVE_ENV] ?? 'null') as RelayServeRequest | null;
  if (!request) throw new Error(`${RELAY_SERVE_ENV} is not set: start the relay with mltoolbox relay serve`);
  const password = env[RELAY_DB_PASSWORD_ENV];
  delete env[RELAY_DB_PASSWORD_ENV];
  delete env[RELAY_SERVE_ENV];
  delete env[RELAY_VERBOSE_ENV];
  await serveRelay({ ...request, database: { ...request.database, ...(password ? { password } : {}) } }, {
    stdout: process.stdout,
    info: say,
    debug: (line) => verbose && say(`· ${line}`),
  });
  process.exit(ExitCode.ok);
} catch (error) {
  // The CLI's plain error form (src/cli/output.ts), without its styles: the relay is a server, its stderr a log.
  if (isUserError(error)) say(`error: ${error.message} [${error.code}]\nhint: ${error.hint}`);
  else say(`internal error: this is a bug in mltoolbox, not something you did.\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(isUserError(error) ? error.exitCode : ExitCode.internal);
}
