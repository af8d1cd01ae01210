import { basename } from 'node:path';
import { keyPathToString, type ConfigLayer, type KeyPath, type Origin } from './layer.ts';

export const DEFAULT_BASE_IMAGE = 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime';

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

/** The built-in defaults as the lowest layer, so `config show --origin` can say "default". */
export function defaultsLayer(projectDir: string): ConfigLayer {
  const value: Record<string, unknown> = {
    version: 1,
    project: { name: defaultProjectName(projectDir), workdir: '/workspace' },
    environment: {
      base_image: DEFAULT_BASE_IMAGE,
      env: {},
      volumes: [],
      ports: [],
      gpu_count: 'all',
      gpus: 'optional',
      shm_size: '8g',
      image_transfer: 'auto',
      engine: 'docker',
    },
    sync: {
      exclude: [...DEFAULT_SYNC_EXCLUDES],
      include_overrides: [],
      respect_gitignore: true,
      strategy: 'rsync',
      watch: { enabled: false, debounce_ms: 75 },
    },
    remote: { connect_timeout: 10 },
    ray: { enabled: false, port: 6379, dashboard_port: 8265 },
    provision: { idle_timeout_minutes: 30, idle_action: 'stop', ready_timeout_minutes: 20 },
    relay: { timeout_ms: 300 },
    plugins: [],
  };
  const origins = new Map<string, Origin>();
  const mark = (node: unknown, path: KeyPath) => {
    origins.set(keyPathToString(path), { kind: 'default' });
    if (Array.isArray(node)) node.forEach((item, i) => mark(item, [...path, i]));
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) mark(v, [...path, k]);
  };
  mark(value, []);
  return { kind: 'default', value, origins };
}
