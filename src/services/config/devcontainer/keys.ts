import type { KeyPath } from '../layer.ts';

/**
 * Where each devcontainer.json setting lands in mltoolbox.yaml. One table, so
 * the importer, `init` and the docs' mapping table agree with the schema.
 */
export const TARGET = {
  name: ['project', 'name'],
  workdir: ['project', 'workdir'],
  baseImage: ['environment', 'base_image'],
  dockerfile: ['environment', 'dockerfile'],
  env: ['environment', 'env'],
  volumes: ['environment', 'volumes'],
  ports: ['environment', 'ports'],
  gpus: ['environment', 'gpus'],
  gpuCount: ['environment', 'gpu_count'],
  shmSize: ['environment', 'shm_size'],
  networkMode: ['environment', 'network_mode'],
  user: ['environment', 'user'],
  initializeCommand: ['environment', 'initialize_command'],
  onCreateCommand: ['environment', 'on_create_command'],
  postCreateCommand: ['environment', 'post_create_command'],
  postStartCommand: ['environment', 'post_start_command'],
  postAttachCommand: ['environment', 'post_attach_command'],
  features: ['environment', 'features'],
  overrideFeatureInstallOrder: ['environment', 'override_feature_install_order'],
} as const satisfies Record<string, KeyPath>;

export const LIFECYCLE_KEYS = ['initializeCommand', 'onCreateCommand', 'postCreateCommand', 'postStartCommand', 'postAttachCommand'] as const;
