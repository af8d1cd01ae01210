import { readFileSync } from 'node:fs';
import { daemonCommand } from './daemon/command.ts';

declare const MLTOOLBOX_VERSION: string | undefined;

const HELP = `mlt — the mltoolbox agent that runs on the remote host

Usage: mlt <command>

Commands:
  daemon         Connect this host to an mltoolbox relay (mlt daemon --help)
  -h, --help     Show this help
  -V, --version  Print the version`;

function version(): string {
  if (typeof MLTOOLBOX_VERSION === 'string') return MLTOOLBOX_VERSION;
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function runAgent(argv: readonly string[], out: (text: string) => void, err: (text: string) => void): number {
  const [first] = argv;
  if (first === '--version' || first === '-V') {
    out(`${version()}\n`);
    return 0;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    out(`${HELP}\n`);
    return first === undefined ? 2 : 0;
  }
  err(`error: unknown command '${first}' [UNKNOWN_COMMAND]\nhint: run 'mlt --help' for the commands this agent knows\n`);
  return 2;
}

export function main(): void {
  const [first, ...rest] = process.argv.slice(2);
  if (first === 'daemon') return void daemonCommand(rest, { env: process.env, out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), version: version() }).then((code) => { process.exitCode = code; });
  process.exitCode = runAgent(process.argv.slice(2), (t) => process.stdout.write(t), (t) => process.stderr.write(t));
}
