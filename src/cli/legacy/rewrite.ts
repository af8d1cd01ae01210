import { parseArgs } from 'node:util';
import { UserError } from '../../core/errors.ts';
import type { CommandSpec } from '../command.ts';
import { locateCommandWords } from './detect.ts';
import { composeTarget, findRemote, type RemoteDirectory, type SavedRemote } from './remotes.ts';

/**
 * v2 command lines, rewritten to v3 ones before normal parsing: every v2
 * command and flag keeps working. What maps, maps (`remote connect` ->
 * `connect`, `--username U` -> `U@host`, `--debug` -> `--verbose`); what has
 * no v3 meaning is dropped with one warning naming it. The table in
 * docs/migrating-from-v2.md ("v2 commands") says the same for people.
 */
export interface LegacyOutcome {
  argv: string[];
  /** Variables for this run (config keys with no v3 flag, e.g. MLTOOLBOX_NETWORK_MODE). */
  env: Record<string, string>;
  /** The one deprecation line, when a v2 spelling was used. */
  deprecation?: string;
  /** One per ignored flag, and notes on how a host was found. */
  warnings: string[];
  notes: string[];
}

interface V2Option {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

/** v3's global options, accepted anywhere in a v2 command line too. */
const GLOBALS: Record<string, V2Option> = {
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  'no-color': { type: 'boolean' },
  'project-dir': { type: 'string', short: 'C' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  debug: { type: 'boolean' },
  dryrun: { type: 'boolean' },
};

type Values = Record<string, string | boolean | string[] | undefined>;

interface Parsed {
  values: Values;
  positionals: string[];
}

/** What a v2 command becomes. */
interface Mapped {
  command: string;
  args: string[];
  options: string[];
  env?: Record<string, string>;
}

interface Context {
  v2Name: string;
  parsed: Parsed;
  remotes: RemoteDirectory;
  cwd: string;
  warnings: string[];
  notes: string[];
  ignore(flag: string, why: string): void;
}

interface V2Command {
  options: Record<string, V2Option>;
  /** v3 command the deprecation line names; undefined for forms that are already v3 (init, remote remove). */
  renamedTo?: string;
  map(context: Context): Promise<Mapped>;
}

const PORT_OPTION: Record<string, V2Option> = { port: { type: 'string', short: 'P' } };
const EXCLUDE_OPTION: Record<string, V2Option> = { exclude: { type: 'string', short: 'e', multiple: true } };

const str = (values: Values, name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
const list = (values: Values, name: string): string[] => {
  const value = values[name];
  return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
};

const SYNC_EXCLUDE_WHY = "v3 sync has no exclude flag: add the patterns to sync.exclude in mltoolbox.yaml";

/** -P/--port as a number, if given. */
function v2Port(context: Context): number | undefined {
  const portText = str(context.parsed.values, 'port');
  if (portText === undefined) return undefined;
  if (!/^\d{1,5}$/.test(portText)) throw new UserError('USAGE', `-P/--port ${portText} is not a port number`, `e.g. ${context.v2Name} HOST -P 2222`);
  return Number(portText);
}

interface TargetParts {
  user: string | undefined;
  port: number | undefined;
  identityFile: string | undefined;
}

/** HOST_OR_ALIAS plus --username/-P/--identity-file/--alias -> a v3 target (and env). */
async function targetFor(context: Context, hostOrAlias: string | undefined, extra: { alias?: string; identityFile?: string } = {}): Promise<{ target?: string; env: Record<string, string> }> {
  const parts: TargetParts = { user: str(context.parsed.values, 'username'), port: v2Port(context), identityFile: extra.identityFile };
  if (hostOrAlias === undefined) return { env: withoutHost(context, parts) };
  const match = findRemote(await context.remotes.list(), hostOrAlias);
  if (match && match.how !== 'alias') context.notes.push(`'${hostOrAlias}' is the saved remote '${match.remote.alias}' (${match.remote.host})`);
  if (extra.alias !== undefined) return { target: await saveAlias(context, extra.alias, hostOrAlias, match?.remote, parts), env: {} };
  return targetOf(hostOrAlias, match?.remote, parts);
}

/** No host named: user and port have nothing to apply to; a key still applies to remote.host. */
function withoutHost(context: Context, parts: TargetParts): Record<string, string> {
  if (parts.user !== undefined) context.ignore('--username', 'there is no host to apply it to');
  if (parts.port !== undefined) context.ignore('-P/--port', 'there is no host to apply it to');
  return parts.identityFile !== undefined ? { MLTOOLBOX_REMOTE_IDENTITY_FILE: parts.identityFile } : {};
}

/** User, port and key as v2 would use them: the flags', else the saved remote's. */
function effective(parts: TargetParts, saved: SavedRemote | undefined): TargetParts {
  if (!saved) return parts;
  return { user: parts.user ?? saved.user ?? undefined, port: parts.port ?? saved.port ?? undefined, identityFile: parts.identityFile ?? saved.identityFile ?? undefined };
}

/** v2's --alias saved the remote on connect: save it as a v3 remote and use the alias. */
async function saveAlias(context: Context, alias: string, hostOrAlias: string, saved: SavedRemote | undefined, parts: TargetParts): Promise<string> {
  const use = effective(parts, saved);
  const text = composeTarget(saved?.host ?? hostOrAlias, use.user, use.port);
  await context.remotes.save(alias, text, use.identityFile);
  context.notes.push(`saved remote '${alias}' -> ${text} (v3: mltoolbox remote add ${alias} ${text})`);
  return alias;
}

/** The saved alias when nothing overrides it; else the host spelled out (a saved alias cannot carry another user or port), keeping its key. */
function targetOf(hostOrAlias: string, saved: SavedRemote | undefined, parts: TargetParts): { target: string; env: Record<string, string> } {
  const overridden = parts.user !== undefined || parts.port !== undefined;
  const use = overridden ? effective(parts, saved) : parts;
  const env: Record<string, string> = use.identityFile !== undefined ? { MLTOOLBOX_REMOTE_IDENTITY_FILE: use.identityFile } : {};
  if (!saved) return { target: composeTarget(hostOrAlias, parts.user, parts.port), env };
  return { target: overridden ? composeTarget(saved.host, use.user, use.port) : saved.alias, env };
}

function expandPath(path: string, cwd: string): string {
  if (path.startsWith('~') || path.startsWith('/')) return path;
  return `${cwd.replace(/\/$/, '')}/${path}`;
}

const V2: Record<string, V2Command> = {
  'remote connect': {
    renamedTo: 'connect',
    options: {
      alias: { type: 'string' },
      username: { type: 'string' },
      'force-rebuild': { type: 'boolean' },
      'forward-ports': { type: 'string', short: 'p', multiple: true },
      'host-ray-dashboard-port': { type: 'string' },
      timeout: { type: 'string' },
      ...EXCLUDE_OPTION,
      'skip-sync': { type: 'boolean' },
      yes: { type: 'boolean', short: 'y' },
      'python-version': { type: 'string' },
      'branch-name': { type: 'string' },
      'network-mode': { type: 'string' },
      variant: { type: 'string' },
      'dependency-tags': { type: 'string' },
      'identity-file': { type: 'string' },
      ...PORT_OPTION,
    },
    async map(context) {
      const { values, positionals } = context.parsed;
      const identityFile = str(values, 'identity-file');
      const alias = str(values, 'alias');
      const { target, env } = await targetFor(context, positionals[0], {
        ...(alias !== undefined ? { alias } : {}),
        ...(identityFile !== undefined ? { identityFile: expandPath(identityFile, context.cwd) } : {}),
      });
      const options: string[] = [];
      if (values['force-rebuild']) options.push('--force-rebuild');
      if (values['skip-sync']) options.push('--skip-sync');
      for (const forward of list(values, 'forward-ports')) options.push('-p', forward);
      const dashboard = str(values, 'host-ray-dashboard-port');
      if (dashboard !== undefined) {
        if (!/^\d{1,5}$/.test(dashboard)) throw new UserError('USAGE', `--host-ray-dashboard-port ${dashboard} is not a port number`, 'e.g. --host-ray-dashboard-port 8265');
        // v2 published Ray's dashboard (8265 in the container) on this local port.
        options.push('-p', `${dashboard}:8265`);
      }
      const network = str(values, 'network-mode');
      if (network !== undefined) env.MLTOOLBOX_NETWORK_MODE = network;
      if (list(values, 'exclude').length) context.ignore('-e/--exclude', SYNC_EXCLUDE_WHY);
      if (values.timeout !== undefined) context.ignore('--timeout', 'v3 connect waits for each step itself (remote.connect_timeout sets the ssh timeout)');
      if (values.yes) context.ignore('-y/--yes', 'v3 connect asks no questions');
      if (values['python-version'] !== undefined) context.ignore('--python-version', 'the image decides Python: set environment.base_image or a Dockerfile in mltoolbox.yaml');
      if (values['branch-name'] !== undefined) context.ignore('--branch-name', 'v3 syncs your working folder as it is, whatever the branch');
      if (values.variant !== undefined) context.ignore('--variant', 'the image is set in mltoolbox.yaml (environment.base_image or a Dockerfile)');
      if (values['dependency-tags'] !== undefined) context.ignore('--dependency-tags', 'dependencies are installed by the image or post_create_command in mltoolbox.yaml');
      return { command: 'connect', args: target ? [target] : [], options, env };
    },
  },
  'remote list-remotes': {
    renamedTo: 'remote list',
    options: {},
    map: async () => ({ command: 'remote list', args: [], options: [] }),
  },
  'remote remove': {
    options: {},
    async map(context) {
      const [name] = context.parsed.positionals;
      if (name === undefined) return { command: 'remote remove', args: [], options: [] };
      const match = findRemote(await context.remotes.list(), name);
      if (match && match.how !== 'alias') context.notes.push(`'${name}' is the saved remote '${match.remote.alias}' (${match.remote.host})`);
      return { command: 'remote remove', args: [match?.remote.alias ?? name], options: [] };
    },
  },
  'remote sync': {
    renamedTo: 'sync',
    options: { ...EXCLUDE_OPTION, ...PORT_OPTION, username: { type: 'string' } },
    async map(context) {
      const { target, env } = await targetFor(context, context.parsed.positionals[0]);
      if (list(context.parsed.values, 'exclude').length) context.ignore('-e/--exclude', SYNC_EXCLUDE_WHY);
      return { command: 'sync', args: target ? [target] : [], options: [], env };
    },
  },
  'remote fetch': {
    renamedTo: 'fetch',
    options: { local: { type: 'string', short: 'l' }, 'local-dir': { type: 'string' }, ...EXCLUDE_OPTION, ...PORT_OPTION, username: { type: 'string' } },
    async map(context) {
      const { values, positionals } = context.parsed;
      const [host, remotePath] = positionals;
      if (host === undefined || remotePath === undefined) {
        throw new UserError('USAGE', `'${context.v2Name}' needs HOST_OR_ALIAS and REMOTE_PATH`, 'usage: mltoolbox fetch HOST REMOTE_PATH [LOCAL_PATH]');
      }
      const { target, env } = await targetFor(context, host);
      const local = str(values, 'local') ?? str(values, 'local-dir');
      if (list(values, 'exclude').length) context.ignore('-e/--exclude', 'v3 fetch copies the path you name; fetch a narrower path instead');
      return { command: 'fetch', args: [target!, remotePath, ...(local !== undefined ? [local] : [])], options: [], env };
    },
  },
  'remote attach': {
    renamedTo: 'shell',
    options: { ...PORT_OPTION, username: { type: 'string' }, 'container-name': { type: 'string' }, 'branch-name': { type: 'string' } },
    async map(context) {
      const { values, positionals } = context.parsed;
      const { target, env } = await targetFor(context, positionals[0]);
      if (values['container-name'] !== undefined) context.ignore('--container-name', "v3 opens the project's own dev container");
      if (values['branch-name'] !== undefined) context.ignore('--branch-name', 'v3 has one dev container per project, whatever the branch');
      return { command: 'shell', args: target ? [target] : [], options: [], env };
    },
  },
  'remote datasync': {
    renamedTo: 'datasync',
    options: {
      'local-dir': { type: 'string', short: 'l' },
      remote: { type: 'string', short: 'r' },
      'rclone-remote': { type: 'string' },
      project: { type: 'string', short: 'p' },
      transfers: { type: 'string' },
      checkers: { type: 'string' },
      'chunk-size': { type: 'string' },
      cutoff: { type: 'string' },
      ...EXCLUDE_OPTION,
      mode: { type: 'string' },
      'container-name': { type: 'string' },
      username: { type: 'string' },
      'dry-run': { type: 'boolean' },
      ...PORT_OPTION,
    },
    async map(context) {
      const { values, positionals } = context.parsed;
      const [direction, host] = positionals;
      if (direction !== 'up' && direction !== 'down') {
        throw new UserError('USAGE', `'${context.v2Name}' needs up or down${direction ? `, not '${direction}'` : ''}`, 'usage: mltoolbox datasync up|down [HOST] -r REMOTE:PATH [-l DIR]');
      }
      const { target, env } = await targetFor(context, host);
      const options: string[] = [];
      const pass = (v2: string, v3: string = v2) => {
        const value = str(values, v2);
        if (value !== undefined) options.push(`--${v3}`, value);
      };
      pass('local-dir');
      pass('remote');
      pass('rclone-remote', 'remote');
      pass('project');
      pass('transfers');
      pass('checkers');
      pass('chunk-size');
      pass('cutoff');
      pass('mode');
      pass('container-name');
      for (const pattern of list(values, 'exclude')) options.push('--exclude', pattern);
      if (values['dry-run']) options.push('--dry-run');
      return { command: `datasync ${direction}`, args: target ? [target] : [], options, env };
    },
  },
  init: {
    options: {
      force: { type: 'boolean' },
      devcontainer: { type: 'string' },
      ray: { type: 'boolean' },
      'no-ray': { type: 'boolean' },
      'python-version': { type: 'string' },
      variant: { type: 'string' },
    },
    async map(context) {
      const { values } = context.parsed;
      const options: string[] = [];
      if (values.force) options.push('--force');
      const devcontainer = str(values, 'devcontainer');
      if (devcontainer !== undefined) options.push('--devcontainer', devcontainer);
      if (values.ray) context.ignore('--ray', "enable Ray in mltoolbox.yaml instead: plugins: [ray]");
      if (values['no-ray']) context.ignore('--no-ray', 'Ray is off unless mltoolbox.yaml enables it');
      if (values['python-version'] !== undefined) context.ignore('--python-version', 'init reads Python from your devcontainer.json, Dockerfile or pyproject.toml');
      if (values.variant !== undefined) context.ignore('--variant', 'set environment.base_image (or a Dockerfile) in mltoolbox.yaml');
      return { command: 'init', args: context.parsed.positionals, options };
    },
  },
};

const isHelpToken = (token: string) => token === '--help' || token === '-h';

function parse(v2Name: string, tokens: readonly string[], options: Record<string, V2Option>): Parsed {
  const config = { ...GLOBALS, ...options };
  try {
    const { values, positionals } = parseArgs({ args: [...tokens], options: config, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]!.replace(/\.$/, '') : String(error);
    throw new UserError('USAGE', `${message} (in the v2 command '${v2Name}')`, `see docs/migrating-from-v2.md for the v2 forms, or 'mltoolbox --help' for the v3 commands`);
  }
}

/** v3 global options back to argv. `--debug` becomes `--verbose`. */
function globalArgs(values: Values): string[] {
  const args: string[] = [];
  if (values.json) args.push('--json');
  if (values.verbose || values.debug) args.push('--verbose');
  if (values.quiet) args.push('--quiet');
  if (values['no-color']) args.push('--no-color');
  if (typeof values['project-dir'] === 'string') args.push('--project-dir', values['project-dir']);
  if (values.help) args.push('--help');
  if (values.version) args.push('--version');
  return args;
}

function noDryRun(v3Name: string): UserError {
  return new UserError('USAGE', `'mltoolbox ${v3Name}' has no dry run (--dryrun)`,
    `run it without --dryrun; 'mltoolbox sync --dry-run' lists what a sync would copy`);
}

function deprecationLine(from: string | undefined, to: string | undefined, flags: string[]): string | undefined {
  const parts = [...(from && to ? [`'mltoolbox ${from}' is now 'mltoolbox ${to}'`] : []), ...flags];
  return parts.length ? `deprecated: ${parts.join('; ')}` : undefined;
}

export interface RewriteDeps {
  commands: readonly CommandSpec[];
  remotes: RemoteDirectory;
  cwd: string;
}

/** The v3 command line for a v2 one, or undefined when argv needs no rewriting. */
export async function rewriteLegacy(argv: readonly string[], deps: RewriteDeps): Promise<LegacyOutcome | undefined> {
  const terminator = argv.indexOf('--');
  const head = terminator === -1 ? [...argv] : argv.slice(0, terminator);
  const rest = terminator === -1 ? [] : argv.slice(terminator);
  const words = locateCommandWords(head);
  const first = words[0]?.word;
  const second = words[1]?.word;
  const v2Key = first === 'remote' && second !== undefined && V2[`remote ${second}`] ? `remote ${second}` : first === 'init' ? 'init' : undefined;
  if (v2Key) {
    const wordCount = v2Key.includes(' ') ? 2 : 1;
    const tokens = head.filter((_, i) => !words.slice(0, wordCount).some((w) => w.index === i));
    if (tokens.some(isHelpToken)) return helpFor(v2Key, tokens);
    return rewriteV2Command(v2Key, tokens, rest, deps);
  }
  return rewriteGlobalSpellings(head, rest, first, second, deps);
}

const renamedFlags = (values: { debug?: unknown; dryrun?: unknown }) => [
  ...(values.debug ? ["'--debug' is now '--verbose'"] : []),
  ...(values.dryrun ? ["'--dryrun' is now '--dry-run'"] : []),
];

/** `--help` anywhere in a v2 line: the v3 command's help, whatever else the line holds (or lacks). */
function helpFor(v2Key: string, tokens: readonly string[]): LegacyOutcome {
  const spec = V2[v2Key]!;
  const direction = tokens.find((t) => t === 'up' || t === 'down');
  const command = v2Key === 'remote datasync' && direction ? `datasync ${direction}` : spec.renamedTo ?? v2Key;
  const deprecation = deprecationLine(spec.renamedTo ? v2Key : undefined, spec.renamedTo, []);
  return { argv: [...command.split(' '), '--help'], env: {}, ...(deprecation ? { deprecation } : {}), warnings: [], notes: [] };
}

/** A v2 command (`remote connect`, `init`, …): its flags mapped to the v3 command's. */
async function rewriteV2Command(v2Key: string, tokens: readonly string[], rest: readonly string[], deps: RewriteDeps): Promise<LegacyOutcome> {
  const spec = V2[v2Key]!;
  const parsed = parse(`mltoolbox ${v2Key}`, [...tokens], spec.options);
  const warnings: string[] = [];
  const notes: string[] = [];
  const context: Context = {
    v2Name: `mltoolbox ${v2Key}`, parsed, remotes: deps.remotes, cwd: deps.cwd, warnings, notes,
    ignore: (flag, why) => warnings.push(`${flag} is ignored: ${why}`),
  };
  const mapped = await spec.map(context);
  const v3 = deps.commands.find((c) => c.name === mapped.command);
  const options = [...mapped.options];
  if (parsed.values.dryrun) {
    if (!v3?.options?.['dry-run']) throw noDryRun(mapped.command);
    if (!options.includes('--dry-run')) options.push('--dry-run');
  }
  const renamed = spec.renamedTo === undefined ? undefined : mapped.command.startsWith('datasync') ? mapped.command : spec.renamedTo;
  const deprecation = deprecationLine(spec.renamedTo ? (v2Key === 'remote datasync' ? `remote ${mapped.command}` : v2Key) : undefined, renamed, renamedFlags(parsed.values));
  return {
    argv: [...globalArgs(parsed.values), ...mapped.command.split(' '), ...mapped.args, ...options, ...rest],
    env: mapped.env ?? {},
    ...(deprecation ? { deprecation } : {}),
    warnings,
    notes,
  };
}

/** A v3 command with v2's global spellings (--debug, --dryrun); undefined when there are none. */
function rewriteGlobalSpellings(head: readonly string[], rest: readonly string[], first: string | undefined, second: string | undefined, deps: RewriteDeps): LegacyOutcome | undefined {
  const debug = head.includes('--debug');
  const dryrun = head.includes('--dryrun');
  if (!debug && !dryrun) return undefined;
  const v3 = (second !== undefined ? deps.commands.find((c) => c.name === `${first} ${second}`) : undefined) ?? deps.commands.find((c) => c.name === first);
  if (dryrun && v3 && v3.options?.['dry-run'] === undefined) throw noDryRun(v3.name);
  const rewritten = head.map((t) => (t === '--debug' ? '--verbose' : t === '--dryrun' ? '--dry-run' : t));
  const deprecation = deprecationLine(undefined, undefined, renamedFlags({ debug, dryrun }));
  return { argv: [...rewritten, ...rest], env: {}, ...(deprecation ? { deprecation } : {}), warnings: [], notes: [] };
}
