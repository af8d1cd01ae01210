import { isUserError } from '../core/errors.ts';
import { ExitCode } from '../core/exit-codes.ts';
import { printableText } from '../core/terminal-text.ts';
import { RELAY_DB_PASSWORD_ENV, RELAY_SERVE_ENV, RELAY_VERBOSE_ENV, serveRelay, type RelayServeRequest } from './commands/relay/serve-relay.ts';
import { renderInternalError, renderUserError } from './output.ts';
import { createStyle } from './ui/style.ts';

/**
 * dist/relay/main.js: the relay server alone, without the CLI. `relay serve`
 * reads its options and settings, then replaces itself (process.execve: same
 * pid, same stdio) with `node <memory flags> dist/relay/main.js`, handing over the
 * request in MLT_RELAY_SERVE and the database password in
 * MLT_RELAY_DB_PASSWORD (never in argv). docs/relay.md#memory.
 */
const env = process.env;
const style = createStyle(false);
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
  process.stderr.write(`${isUserError(error) ? renderUserError(error, style) : renderInternalError(error, style)}\n`);
  process.exit(isUserError(error) ? error.exitCode : ExitCode.internal);
}
