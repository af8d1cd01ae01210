import { sha256Hex } from '../../core/digest.ts';
import { quoteShellArg } from '../../core/shell-quote.ts';
import { FEATURE_LIFECYCLE_KEYS, isLifecycleCommand, type FeatureLifecycleKey, type FeatureMount, type LifecycleCommand } from './metadata.ts';
import type { ResolvedFeature } from './resolve.ts';

/** What the installed features ask of the container, merged in installation order. */
export interface FeatureContributions {
  /** Already baked into the image as ENV; listed for `config show` and JSON output. */
  containerEnv: Record<string, string>;
  mounts: FeatureMount[];
  /** True if any feature asks for it. */
  privileged: boolean;
  init: boolean;
  /** Concatenated, without duplicates. */
  capAdd: string[];
  securityOpt: string[];
  /** Entrypoint scripts, in installation order. */
  entrypoints: string[];
  /** Lifecycle commands per hook, in installation order; they run before the user's. */
  lifecycle: Record<FeatureLifecycleKey, { feature: string; command: LifecycleCommand }[]>;
  /** Kept for editors: each feature's customizations, by feature id. */
  customizations: { feature: string; customizations: Record<string, unknown> }[];
}

function emptyLifecycle(): FeatureContributions['lifecycle'] {
  return Object.fromEntries(FEATURE_LIFECYCLE_KEYS.map((k) => [k, []])) as unknown as FeatureContributions['lifecycle'];
}

/** The label mltoolbox puts on a features image (its value: the features' content hash). */
export const FEATURES_LABEL = 'dev.mltoolbox.features';
/** The devcontainers CLI's image label: what each installed feature contributes. */
export const METADATA_LABEL = 'devcontainer.metadata';

/**
 * The features' lifecycle commands as recorded on a container made from a
 * features image (the `devcontainer.metadata` label mltoolbox wrote, in
 * installation order): what `shell` runs on attach without resolving the
 * features again. Undefined for a container without mltoolbox's features
 * (a base image's own metadata is not ours to run).
 */
export function lifecycleFromLabels(labels: Readonly<Record<string, string>> | undefined): FeatureContributions['lifecycle'] | undefined {
  if (!labels?.[FEATURES_LABEL] || !labels[METADATA_LABEL]) return undefined;
  let entries: unknown;
  try {
    entries = JSON.parse(labels[METADATA_LABEL]);
  } catch {
    return undefined;
  }
  if (!Array.isArray(entries)) return undefined;
  const out = emptyLifecycle();
  for (const entry of entries as Record<string, unknown>[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const feature = typeof entry.id === 'string' ? entry.id : '?';
    for (const key of FEATURE_LIFECYCLE_KEYS) if (isLifecycleCommand(entry[key])) out[key].push({ feature, command: entry[key] });
  }
  return out;
}

export function mergeContributions(features: readonly ResolvedFeature[], devcontainerId: string): FeatureContributions {
  const out: FeatureContributions = {
    containerEnv: {}, mounts: [], privileged: false, init: false, capAdd: [], securityOpt: [], entrypoints: [],
    lifecycle: emptyLifecycle(),
    customizations: [],
  };
  const substitute = (text: string) => text.replaceAll('${devcontainerId}', devcontainerId);
  for (const feature of features) {
    const m = feature.metadata;
    Object.assign(out.containerEnv, m.containerEnv);
    for (const mount of m.mounts) {
      const item: FeatureMount = { type: mount.type, target: substitute(mount.target), ...(mount.source ? { source: substitute(mount.source) } : {}) };
      // A later feature mounting the same target wins (one mount per target).
      out.mounts = [...out.mounts.filter((x) => x.target !== item.target), item];
    }
    out.privileged ||= m.privileged;
    out.init ||= m.init;
    for (const cap of m.capAdd) if (!out.capAdd.includes(cap)) out.capAdd.push(cap);
    for (const opt of m.securityOpt) if (!out.securityOpt.includes(opt)) out.securityOpt.push(opt);
    if (m.entrypoint && !out.entrypoints.includes(m.entrypoint)) out.entrypoints.push(substitute(m.entrypoint));
    for (const key of FEATURE_LIFECYCLE_KEYS) {
      const command = m.lifecycle[key];
      if (command !== undefined) out.lifecycle[key].push({ feature: m.id, command });
    }
    if (m.customizations) out.customizations.push({ feature: feature.userId, customizations: m.customizations });
  }
  return out;
}

/**
 * The container's entrypoint when features bring entrypoint scripts: each
 * runs in order, then the container's command is exec'd (so it keeps PID 1's
 * child role under init). Undefined when no feature has one.
 */
export function entrypointFor(entrypoints: readonly string[]): string[] | undefined {
  if (entrypoints.length === 0) return undefined;
  const script = [...entrypoints.map((e) => e.split(/\s+/).map(quoteShellArg).join(' ')), 'exec "$@"'].join('\n');
  return ['/bin/sh', '-c', script, '-'];
}

/**
 * The spec's label-based ${devcontainerId}: SHA-256 of the sorted-keys JSON
 * of the labels identifying the dev container, base-32, left-padded to 52.
 */
export function devcontainerId(labels: Readonly<Record<string, string>>): string {
  const input = JSON.stringify(labels, Object.keys(labels).sort());
  const hash = sha256Hex(input);
  return BigInt(`0x${hash}`).toString(32).padStart(52, '0');
}
