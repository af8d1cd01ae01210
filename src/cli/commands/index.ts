import type { CommandSpec } from '../command.ts';

/**
 * Every command's spec, in help order. Specs are tiny; their `load()` pulls
 * in the real work only when the command runs. Add a command by creating
 * commands/<name>/spec.ts + run.ts and listing the spec here.
 */
export const commands: readonly CommandSpec[] = [
];
