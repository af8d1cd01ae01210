/**
 * `runArgs` is a list of raw `docker run` arguments. We understand the ones
 * that have a mltoolbox.yaml key and hand the rest back untouched, so the
 * caller can pass them through or warn about them — never drop silently.
 */
export type GpuRequest = { kind: 'all' } | { kind: 'count'; count: number } | { kind: 'devices'; devices: string[] };

export type RunArgEffect =
  | { key: 'gpus'; value: GpuRequest }
  | { key: 'shm_size'; value: string }
  | { key: 'env'; name: string; value: string }
  | { key: 'volume'; value: string }
  | { key: 'ipc'; value: string }
  | { key: 'network'; value: string }
  | { key: 'port'; value: string }
  | { key: 'user'; value: string }
  | { key: 'passthrough'; args: string[] };

export interface ParsedRunArg {
  /** Index of the first runArgs element this effect came from (for positions). */
  index: number;
  effect: RunArgEffect;
}

interface KnownFlag {
  names: readonly string[];
  apply(value: string): RunArgEffect | undefined;
}

const KNOWN: readonly KnownFlag[] = [
  { names: ['--gpus'], apply: (v) => { const gpus = parseGpus(v); return gpus && { key: 'gpus', value: gpus }; } },
  { names: ['--shm-size'], apply: (v) => ({ key: 'shm_size', value: v }) },
  { names: ['-e', '--env'], apply: (v) => { const [name, ...rest] = v.split('='); return name ? { key: 'env', name, value: rest.join('=') } : undefined; } },
  { names: ['-v', '--volume'], apply: (v) => ({ key: 'volume', value: v }) },
  { names: ['--ipc'], apply: (v) => ({ key: 'ipc', value: v }) },
  { names: ['--network', '--net'], apply: (v) => ({ key: 'network', value: v }) },
  { names: ['-p', '--publish'], apply: (v) => ({ key: 'port', value: v }) },
  { names: ['-u', '--user'], apply: (v) => ({ key: 'user', value: v }) },
];

/** docker run flags that take no value, so the next token is not theirs. */
const BOOLEAN_FLAGS = new Set([
  '--privileged', '--init', '--rm', '-d', '--detach', '-i', '--interactive', '-t', '--tty', '-it', '-ti',
  '--read-only', '--no-healthcheck', '--oom-kill-disable', '-P', '--publish-all', '--sig-proxy', '--disable-content-trust',
]);

export function parseRunArgs(args: readonly string[]): ParsedRunArg[] {
  const out: ParsedRunArg[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const start = i;
    const { flag, inline } = splitFlag(arg);
    const known = flag === undefined ? undefined : KNOWN.find((k) => k.names.includes(flag));
    if (known) {
      let value = inline;
      if (value === undefined && i + 1 < args.length) value = args[++i];
      const effect = value === undefined ? undefined : known.apply(unquote(value));
      out.push({ index: start, effect: effect ?? { key: 'passthrough', args: args.slice(start, i + 1) } });
      continue;
    }
    // Unknown flag: keep its value with it, so the pair passes through together.
    if (arg.startsWith('-') && !arg.includes('=') && !BOOLEAN_FLAGS.has(arg) && i + 1 < args.length && !args[i + 1]!.startsWith('-')) i++;
    out.push({ index: start, effect: { key: 'passthrough', args: args.slice(start, i + 1) } });
  }
  return out;
}

/** `--x=y`, `--x y`, and the short attached forms `-p8080:80`, `-eX=1`. */
function splitFlag(arg: string): { flag?: string; inline?: string } {
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=');
    return eq === -1 ? { flag: arg } : { flag: arg.slice(0, eq), inline: arg.slice(eq + 1) };
  }
  if (/^-[evpu]$/.test(arg)) return { flag: arg };
  if (/^-[evpu]./.test(arg)) return { flag: arg.slice(0, 2), inline: arg.slice(2).replace(/^=/, '') };
  return arg.startsWith('-') ? { flag: arg } : {};
}

/** runArgs are not shell-parsed, but people still quote: `--gpus "device=0,1"`. */
function unquote(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length >= 2 && (trimmed[0] === '"' || trimmed[0] === "'") && trimmed.at(-1) === trimmed[0]) return trimmed.slice(1, -1);
  return trimmed;
}

export function parseGpus(raw: string): GpuRequest | undefined {
  const value = unquote(raw);
  if (value === 'all') return { kind: 'all' };
  if (/^\d+$/.test(value)) return { kind: 'count', count: Number(value) };
  // Docker's CSV form: device=0,1 / count=2 / capabilities=… (we keep what maps).
  const device = /(?:^|,)"?device=([^"]+)"?/.exec(value);
  if (device) return { kind: 'devices', devices: device[1]!.split(',').map((d) => d.trim()).filter((d) => d !== '' && !d.includes('=')) };
  const count = /(?:^|,)count=(\w+)/.exec(value);
  if (count) return count[1] === 'all' ? { kind: 'all' } : /^\d+$/.test(count[1]!) ? { kind: 'count', count: Number(count[1]) } : undefined;
  return undefined;
}
