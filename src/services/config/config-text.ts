import { readFile, stat } from 'node:fs/promises';
import type { UserError } from '../../core/errors.ts';
import type { OriginKind } from './layer.ts';
import { problemsError } from './problems.ts';

/**
 * Every configuration file we read (mltoolbox.yaml, config.yaml,
 * devcontainer.json, env files) passes here first: a size bound (parsing
 * and merging stay well under a second), UTF-8 text only (binary data is
 * refused without being echoed to the terminal), and a byte-order mark
 * dropped (editors on Windows write one).
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Nesting beyond this is refused: no real configuration comes close, and recursion stays bounded. */
export const MAX_CONFIG_NESTING = 64;

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function position(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) if (bytes[i] === 10) { line++; lineStart = i + 1; }
  return { line, column: offset - lineStart + 1 };
}

/** The file's text, or CONFIG_UNREADABLE saying why it is not a configuration file. */
export function configText(bytes: Uint8Array, file: string, kind: OriginKind = 'project'): string {
  if (bytes.length > MAX_CONFIG_BYTES) throw tooLarge(file, kind, bytes.length);
  const nul = bytes.indexOf(0);
  let text: string;
  try {
    if (nul !== -1) throw new Error('NUL');
    text = fatalUtf8.decode(bytes); // drops a leading BOM
  } catch {
    const at = nul !== -1 ? nul : firstInvalidUtf8(bytes);
    // Never quoted: the bytes would reach the terminal.
    throw problemsError('CONFIG_UNREADABLE', `${file} is not a text file`,
      `a configuration file is UTF-8 text; check it is the file you meant (file ${file}), or restore it from version control`,
      [{ message: `binary data here (${nul !== -1 ? 'a NUL byte' : 'not UTF-8'})`, origin: { kind, file, ...position(bytes, at) } }], new Map(), undefined);
  }
  return text;
}

/** Reads a configuration file through configText, refusing an oversized one before reading it. */
export async function readConfigFile(file: string, kind: OriginKind = 'project'): Promise<string> {
  const info = await stat(file);
  if (info.isFile() && info.size > MAX_CONFIG_BYTES) throw tooLarge(file, kind, info.size);
  return configText(await readFile(file), file, kind);
}

function tooLarge(file: string, kind: OriginKind, size: number): UserError {
  return problemsError('CONFIG_UNREADABLE', `${file} is ${(size / 1024 / 1024).toFixed(1)} MiB; configuration files are limited to ${MAX_CONFIG_BYTES / 1024 / 1024} MiB`,
    'keep large data out of the configuration: point at files (env_file, volumes) instead of inlining them',
    [{ message: `${size} bytes`, origin: { kind, file, line: 1, column: 1 } }], new Map(), undefined);
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  const lenient = new TextDecoder('utf-8').decode(bytes);
  const index = lenient.indexOf('\uFFFD');
  return index < 0 ? 0 : Buffer.byteLength(lenient.slice(0, index));
}

/** A parser's own stack overflow on absurd nesting, as the user error it is. */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}
