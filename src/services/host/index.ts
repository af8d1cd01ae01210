export type * from './types.ts';
export { createLocalHost } from './local-host.ts';
export { createSshHost, type SshHostOptions } from './ssh-host.ts';
export { createContainerHost, type ContainerHostOptions } from './container-host.ts';
