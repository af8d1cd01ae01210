import { basename } from 'node:path';
import { keyPathToString, type ConfigLayer, type KeyPath, type Origin } from './layer.ts';

export const DEFAULT_BASE_IMAGE = 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime';

/** Where the project lives in the container. */
export const DEFAULT_WORKDIR = '/workspace';

/** What is never worth copying to a GPU host. */
export const DEFAULT_SYNC_EXCLUDES = [
  '.git/', '__pycache__/', '*.pyc', '.venv/', 'venv/', 'node_modules/', '.mypy_cache/', '.pytest_cache/',
  '.ruff_cache/', '.ipynb_checkpoints/', 'wandb/', '.DS_Store', 'mltoolbox.local.yaml',
];

/** A container name friendly version of the folder name. */
export function defaultProjectName(projectDir: string): string {
  const cleaned = basename(projectDir).replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return cleaned || 'project';
}

/**
 * Every default, defined once: the lowest config layer (so `config show
 * --origin` says "default") and the shape the loader normalizes to, so no
 * consumer ever writes `?? '/workspace'` again.
 */
export function builtinDefaults(projectDir: string) {
  return {
    version: 1 as const,
    project: { name: defaultProjectName(projectDir), workdir: DEFAULT_WORKDIR },
    environment: {
      base_image: DEFAULT_BASE_IMAGE,
      env: {} as Record<string, string>,
      volumes: [] as string[],
      ports: [] as (number | string)[],
      gpu_count: 'all' as number | 'all',
      gpus: 'optional' as 'optional' | 'required' | 'none',
      shm_size: '8g' as string | number,
      image_transfer: 'auto' as 'auto' | 'always' | 'never',
      engine: 'docker' as 'docker' | 'podman' | 'auto',
    },
    sync: {
      exclude: [...DEFAULT_SYNC_EXCLUDES],
      include_overrides: [] as string[],
      respect_gitignore: true,
      strategy: 'rsync' as const,
      watch: { enabled: false, debounce_ms: 75 },
    },
    remote: { connect_timeout: 10 },
    provision: { idle_timeout_minutes: 30, idle_action: 'stop', ready_timeout_minutes: 20 },
    relay: { timeout_ms: 300 },
    plugins: [] as unknown[],
  };
}

export type BuiltinDefaults = ReturnType<typeof builtinDefaults>;

/** The built-in defaults as the lowest layer, so `config show --origin` can say "default". */
export function defaultsLayer(projectDir: string): ConfigLayer {
  const value = builtinDefaults(projectDir) as unknown as Record<string, unknown>;
  const origins = new Map<string, Origin>();
  const mark = (node: unknown, path: KeyPath) => {
    origins.set(keyPathToString(path), { kind: 'default' });
    if (Array.isArray(node)) node.forEach((item, i) => mark(item, [...path, i]));
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) mark(v, [...path, k]);
  };
  mark(value, []);
  return { kind: 'default', value, origins };
}
