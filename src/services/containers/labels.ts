import { sha256Hex } from '../../core/digest.ts';
import type { CreateContainerBody } from './engine-client.ts';

/** Labels mltoolbox puts on what it creates; `docker ps --filter label=…` finds them too. */
export const LABEL = {
  managed: 'mltoolbox.managed',
  project: 'mltoolbox.project',
  configHash: 'mltoolbox.config-hash',
  version: 'mltoolbox.version',
} as const;

const OWN_LABELS = new Set<string>(Object.values(LABEL));

/** Our labels first; a spec cannot override them (they decide reuse). */
export function containerLabels(options: { project: string; configHash: string; toolVersion: string; extra?: Record<string, string> }): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.extra ?? {})) if (!OWN_LABELS.has(key)) labels[key] = value;
  labels[LABEL.managed] = 'true';
  labels[LABEL.project] = options.project;
  labels[LABEL.configHash] = options.configHash;
  labels[LABEL.version] = options.toolVersion;
  return labels;
}

/**
 * The config hash: a digest of exactly what the engine would be asked to
 * create (the create body, minus our own labels) plus the image's id, so a
 * change to any setting — or a rebuilt image under the same tag — recreates.
 * Secret values are folded in as their own sha256, never as text, so
 * rotating a secret recreates too. (Anyone who can `docker inspect` already
 * sees the container's Env; the label adds no exposure.)
 */
export function configHash(body: CreateContainerBody, imageId: string, secretNames: readonly string[]): string {
  const secrets = new Set(secretNames);
  const env = (body.Env ?? []).map((entry) => {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq);
    return secrets.has(name) ? `${name}=sha256:${sha256Hex(entry.slice(eq + 1))}` : entry;
  });
  const userLabels = Object.fromEntries(Object.entries(body.Labels).filter(([key]) => !OWN_LABELS.has(key)));
  const normalized = { ...body, Env: env, Labels: userLabels, ImageId: imageId };
  return sha256Hex(stableStringify(normalized)).slice(0, 16);
}

/** JSON with object keys sorted, so the same settings always hash the same. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
