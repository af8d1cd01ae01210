import { UserError } from '../core/errors.ts';

/** What `mlt` was asked to do, read from argv. Pure: unit-tested without a host. */
export interface AgentArgs {
  command: string | undefined;
  /** `--project NAME`: the project's name or slug (as `mlt ps` lists it). */
  project?: string;
  json: boolean;
  follow: boolean;
  tail?: number;
  /** Everything after `--` (run, lsp-proxy), never joined into a string. */
  rest: string[];
  help: boolean;
}

const COMMANDS = ['shell', 'run', 'logs', 'status', 'ps', 'version', 'ssh-server', 'host-key', 'lsp-proxy', 'help'] as const;
export type AgentCommand = (typeof COMMANDS)[number];

export function isAgentCommand(name: string): name is AgentCommand {
  return (COMMANDS as readonly string[]).includes(name);
}

/**
 * `mlt [--project NAME] COMMAND [options] [-- ARGV...]`. Options may stand
 * before or after the command; `run` also takes its argv without `--` when
 * the first word is not an option (`mlt run python train.py`).
 */
export function parseAgentArgs(argv: readonly string[]): AgentArgs {
  const out: AgentArgs = { command: undefined, json: false, follow: false, rest: [], help: false };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      out.rest = argv.slice(i + 1);
      break;
    }
    const [flag, inline] = word.startsWith('--') && word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UserError('USAGE', `${flag} needs a value`, `write ${flag} VALUE; see mlt --help`);
      return v;
    };
    if (flag === '--project' || flag === '-p') out.project = value();
    else if (flag === '--json') out.json = true;
    else if (flag === '-f' || flag === '--follow') out.follow = true;
    else if (flag === '--tail' || flag === '-n') {
      const text = value();
      if (!/^\d+$/.test(text)) throw new UserError('USAGE', `--tail needs a number of lines, not ${JSON.stringify(text)}`, 'write --tail 100');
      out.tail = Number(text);
    } else if (flag === '-h' || flag === '--help') out.help = true;
    else if (flag === '-V' || flag === '--version') out.command ??= 'version';
    else if (word.startsWith('-') && word !== '-') {
      throw new UserError('USAGE', `unknown option ${flag}`, 'run mlt --help for the options');
    } else if (out.command === undefined) {
      if (!isAgentCommand(word)) throw new UserError('UNKNOWN_COMMAND', `unknown command '${word}'`, "run 'mlt --help' for the commands this agent knows");
      out.command = word;
    } else if (out.command === 'run' || out.command === 'lsp-proxy') {
      out.rest = argv.slice(i);
      break;
    } else {
      throw new UserError('USAGE', `mlt ${out.command} takes no argument ${JSON.stringify(word)}`, 'run mlt --help for the usage');
    }
  }
  return out;
}
