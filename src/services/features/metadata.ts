import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';

/** One option a feature declares in devcontainer-feature.json. */
export interface FeatureOptionSpec {
  type: 'string' | 'boolean';
  default?: string | boolean;
  enum?: readonly string[];
  proposals?: readonly string[];
  description?: string;
}

export type LifecycleCommand = string | readonly string[] | Readonly<Record<string, string | readonly string[]>>;

export const FEATURE_LIFECYCLE_KEYS = ['onCreateCommand', 'updateContentCommand', 'postCreateCommand', 'postStartCommand', 'postAttachCommand'] as const;
export type FeatureLifecycleKey = (typeof FEATURE_LIFECYCLE_KEYS)[number];

export interface FeatureMount {
  type: 'bind' | 'volume' | 'tmpfs';
  source?: string;
  target: string;
}

/** devcontainer-feature.json: the parts an implementation acts on, checked for type. */
export interface FeatureMetadata {
  id: string;
  version?: string;
  name?: string;
  options: Readonly<Record<string, FeatureOptionSpec>>;
  containerEnv: Readonly<Record<string, string>>;
  mounts: readonly FeatureMount[];
  privileged: boolean;
  init: boolean;
  capAdd: readonly string[];
  securityOpt: readonly string[];
  entrypoint?: string;
  /** Hard dependencies with their options (keys are feature references). */
  dependsOn: Readonly<Record<string, Readonly<Record<string, string | boolean>>>>;
  installsAfter: readonly string[];
  legacyIds: readonly string[];
  deprecated: boolean;
  customizations?: Record<string, unknown>;
  lifecycle: Partial<Record<FeatureLifecycleKey, LifecycleCommand>>;
}

export class FeatureMetadataError extends Error {}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const stringList = (v: unknown, key: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new FeatureMetadataError(`'${key}' must be an array of strings`);
  return v as string[];
};

/** Parses and type-checks a devcontainer-feature.json text. */
export function parseFeatureMetadata(text: string): FeatureMetadata {
  const errors: ParseError[] = [];
  const raw: unknown = parse(text, errors, { allowTrailingComma: true });
  if (errors.length > 0) throw new FeatureMetadataError(`devcontainer-feature.json is not valid JSON (${printParseErrorCode(errors[0]!.error)} at offset ${errors[0]!.offset})`);
  if (!isRecord(raw)) throw new FeatureMetadataError('devcontainer-feature.json must hold an object');
  if (typeof raw.id !== 'string' || raw.id === '') throw new FeatureMetadataError(`devcontainer-feature.json has no 'id'`);

  const options: Record<string, FeatureOptionSpec> = {};
  if (raw.options !== undefined && !isRecord(raw.options)) throw new FeatureMetadataError(`'options' must be an object`);
  for (const [name, spec] of Object.entries(raw.options ?? {})) {
    if (!isRecord(spec)) throw new FeatureMetadataError(`option '${name}' must be an object`);
    const type = spec.type;
    if (type !== 'string' && type !== 'boolean') throw new FeatureMetadataError(`option '${name}' has type ${JSON.stringify(type)}; the spec allows "string" and "boolean"`);
    if (spec.default !== undefined && typeof spec.default !== 'string' && typeof spec.default !== 'boolean') throw new FeatureMetadataError(`option '${name}' has a default that is neither a string nor a boolean`);
    options[name] = {
      type,
      ...(spec.default !== undefined ? { default: spec.default as string | boolean } : {}),
      ...(spec.enum !== undefined ? { enum: stringList(spec.enum, `options.${name}.enum`) } : {}),
      ...(spec.proposals !== undefined ? { proposals: stringList(spec.proposals, `options.${name}.proposals`) } : {}),
      ...(typeof spec.description === 'string' ? { description: spec.description } : {}),
    };
  }

  const containerEnv: Record<string, string> = {};
  if (raw.containerEnv !== undefined && !isRecord(raw.containerEnv)) throw new FeatureMetadataError(`'containerEnv' must be an object of strings`);
  for (const [key, value] of Object.entries(raw.containerEnv ?? {})) {
    if (typeof value !== 'string') throw new FeatureMetadataError(`containerEnv.${key} must be a string`);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new FeatureMetadataError(`containerEnv key '${key}' is not a valid variable name`);
    containerEnv[key] = value;
  }

  const dependsOn: Record<string, Record<string, string | boolean>> = {};
  if (raw.dependsOn !== undefined && !isRecord(raw.dependsOn)) throw new FeatureMetadataError(`'dependsOn' must be an object of feature references`);
  for (const [ref, value] of Object.entries(raw.dependsOn ?? {})) dependsOn[ref] = userOptions(value, `dependsOn["${ref}"]`);

  const lifecycle: FeatureMetadata['lifecycle'] = {};
  for (const key of FEATURE_LIFECYCLE_KEYS) {
    const value = raw[key];
    if (value === undefined) continue;
    if (!isLifecycleCommand(value)) throw new FeatureMetadataError(`'${key}' must be a string, an array of strings or an object of those`);
    lifecycle[key] = value;
  }

  const flag = (key: string): boolean => {
    if (raw[key] === undefined) return false;
    if (typeof raw[key] !== 'boolean') throw new FeatureMetadataError(`'${key}' must be true or false`);
    return raw[key];
  };
  if (raw.entrypoint !== undefined && typeof raw.entrypoint !== 'string') throw new FeatureMetadataError(`'entrypoint' must be a string`);
  if (raw.customizations !== undefined && !isRecord(raw.customizations)) throw new FeatureMetadataError(`'customizations' must be an object`);
  return {
    id: raw.id,
    ...(typeof raw.version === 'string' ? { version: raw.version } : {}),
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    options,
    containerEnv,
    mounts: parseMounts(raw.mounts),
    privileged: flag('privileged'),
    init: flag('init'),
    capAdd: stringList(raw.capAdd, 'capAdd'),
    securityOpt: stringList(raw.securityOpt, 'securityOpt'),
    ...(typeof raw.entrypoint === 'string' && raw.entrypoint !== '' ? { entrypoint: raw.entrypoint } : {}),
    dependsOn,
    installsAfter: stringList(raw.installsAfter, 'installsAfter'),
    legacyIds: stringList(raw.legacyIds, 'legacyIds'),
    deprecated: flag('deprecated'),
    ...(isRecord(raw.customizations) ? { customizations: raw.customizations } : {}),
    lifecycle,
  };
}

/**
 * A `features` value as the user (or a dependsOn entry) wrote it: an object
 * of options, a string (shorthand for `version`), or true/{} for defaults.
 */
export function userOptions(value: unknown, where: string): Record<string, string | boolean> {
  if (value === undefined || value === null || value === true) return {};
  if (typeof value === 'string') return { version: value };
  if (!isRecord(value)) throw new FeatureMetadataError(`${where} must be an object of options, or a version string`);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'number' ? String(v) : v])) as Record<string, string | boolean>;
}

export function isLifecycleCommand(value: unknown): value is LifecycleCommand {
  const argv = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (typeof value === 'string' || argv(value)) return true;
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string' || argv(v));
}

/** Feature mounts: objects {type, source, target} or docker --mount strings. */
function parseMounts(value: unknown): FeatureMount[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new FeatureMetadataError(`'mounts' must be an array`);
  return value.map((item): FeatureMount => {
    const fields: Record<string, unknown> = typeof item === 'string'
      ? Object.fromEntries(item.split(',').map((pair) => {
        const eq = pair.indexOf('=');
        return eq < 0 ? [pair.trim(), 'true'] : [pair.slice(0, eq).trim(), pair.slice(eq + 1).trim()];
      }))
      : isRecord(item) ? item : {};
    const type = fields.type ?? 'volume';
    const target = fields.target ?? fields.destination ?? fields.dst;
    const source = fields.source ?? fields.src;
    if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') throw new FeatureMetadataError(`mount type ${JSON.stringify(type)} is not bind, volume or tmpfs`);
    if (typeof target !== 'string' || !target.startsWith('/')) throw new FeatureMetadataError(`every mount needs an absolute 'target'`);
    return { type, target, ...(typeof source === 'string' && source !== '' ? { source } : {}) };
  });
}
