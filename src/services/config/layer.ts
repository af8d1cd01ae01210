/**
 * A configuration layer: one source's contribution (defaults, a YAML file,
 * a devcontainer.json, env vars, flags) in the mltoolbox.yaml shape, plus
 * where each value came from. The loader merges layers lowest-first and
 * keeps the origin of every resolved key (`config show --origin`).
 */
export type OriginKind =
  | 'default' | 'system' | 'user' | 'project' | 'local' | 'devcontainer' | 'dockerfile' | 'env' | 'flag'
  /** A variable read from environment.env_file (file/line point into the dotenv file). */
  | 'env-file'
  /** A variable a profile passed through from the local environment (name = profile name). */
  | 'profile';

export interface Origin {
  kind: OriginKind;
  /** Absolute file path for file layers. */
  file?: string;
  /** 1-based position of the value in that file. */
  line?: number;
  column?: number;
  /** The env var (MLTOOLBOX_REMOTE_HOST) or flag (--host) that set it. */
  name?: string;
}

/** The keys of environment that name where the image comes from (one of them at a time). */
export const IMAGE_SOURCE_KEYS = ['base_image', 'dockerfile', 'devcontainer'] as const;

/** A key path such as ['environment', 'ports', 0] */
export type KeyPath = readonly (string | number)[];

export interface ConfigLayer {
  kind: OriginKind;
  /** File the layer was read from, if any. */
  file?: string;
  /** The raw values, in mltoolbox.yaml's shape (not yet validated). */
  value: Record<string, unknown>;
  /** Origin of each leaf (and each container) value, keyed by keyPathToString(path). */
  origins: Map<string, Origin>;
  /** Where each mapping key itself is written (unknown-key errors point here); optional. */
  keyOrigins?: Map<string, Origin>;
  /** The file's text, so errors can show the offending line with a caret. */
  source?: string;
}

/** `environment.ports[0]` style keys: what --origin prints and what tests assert. */
export function keyPathToString(path: KeyPath): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? part : `.${part}`;
  return out;
}

export function formatOrigin(origin: Origin): string {
  if (origin.file) return `${origin.file}${origin.line ? `:${origin.line}${origin.column ? `:${origin.column}` : ''}` : ''}`;
  if (origin.kind === 'env') return `env ${origin.name}`;
  if (origin.kind === 'flag') return `flag ${origin.name}`;
  if (origin.kind === 'profile') return `profile ${origin.name}`;
  return origin.kind;
}

/** Nearest recorded origin for a path (the value, else its closest parent). */
export function originAt(origins: ReadonlyMap<string, Origin>, path: KeyPath): Origin | undefined {
  for (let n = path.length; n >= 0; n--) {
    const found = origins.get(keyPathToString(path.slice(0, n)));
    if (found) return found;
  }
  return undefined;
}
