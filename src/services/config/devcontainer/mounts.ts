/**
 * A devcontainer mount: the `--mount` string ("source=…,target=…,type=bind")
 * or its object form. We turn bind and volume mounts into docker `-v` specs
 * (`source:target[:ro]`); tmpfs and anything without a target cannot be one.
 */
export interface MountSpec {
  type: string;
  source?: string;
  target?: string;
  readonly: boolean;
}

export function parseMountString(raw: string): MountSpec {
  const fields = new Map<string, string>();
  let readonly = false;
  for (const part of raw.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (key === 'readonly' || key === 'ro') readonly = value === '' || value === 'true' || value === '1';
    else fields.set(key, value);
  }
  return {
    type: fields.get('type') ?? 'volume',
    source: fields.get('source') ?? fields.get('src'),
    target: fields.get('target') ?? fields.get('destination') ?? fields.get('dst'),
    readonly,
  };
}

export function parseMountObject(value: Record<string, unknown>): MountSpec {
  const text = (key: string) => (typeof value[key] === 'string' ? (value[key] as string) : undefined);
  return { type: text('type') ?? 'volume', source: text('source'), target: text('target'), readonly: value.readonly === true };
}

/** The `-v` spec for a mount, or the reason it has none. */
export function mountToVolume(mount: MountSpec): { volume: string } | { reason: string } {
  if (mount.type !== 'bind' && mount.type !== 'volume') return { reason: `mount type '${mount.type}' has no -v form` };
  if (!mount.target) return { reason: 'the mount has no target' };
  if (!mount.source) {
    if (mount.type === 'volume') return { volume: `${mount.target}${mount.readonly ? ':ro' : ''}` };
    return { reason: 'a bind mount needs a source' };
  }
  return { volume: `${mount.source}:${mount.target}${mount.readonly ? ':ro' : ''}` };
}
