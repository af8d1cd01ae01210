/**
 * A provisioned instance's name: lowercase letters, digits and '-', at most 48
 * characters. It is also a file name on the host (the idle watcher's files),
 * so nothing else is ever accepted where one is expected.
 */
export const INSTANCE_NAME = /^[a-z0-9][a-z0-9-]{0,47}$/;
