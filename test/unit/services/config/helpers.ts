import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isUserError, type UserError } from '../../../../src/core/errors.ts';

/** Every tree made by this test process, removed when it exits (thousands of runs left them in /tmp). */
const made: string[] = [];
process.once('exit', () => {
  for (const root of made) rmSync(root, { recursive: true, force: true });
});

/** A temp folder with files: { 'mltoolbox.yaml': '...', 'xdg/mltoolbox/config.yaml': '...' }. */
export function tempTree(files: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'mlt-config-'));
  made.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Awaits a promise that must reject with a UserError and returns it. */
export async function userError(promise: Promise<unknown> | (() => unknown), code?: string): Promise<UserError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (!isUserError(error)) throw error;
    if (code && error.code !== code) throw new Error(`expected ${code}, got ${error.code}: ${error.message}\n${error.details.join('\n')}`);
    return error;
  }
  throw new Error(`expected a UserError${code ? ` ${code}` : ''}, but it succeeded`);
}
