import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What `init` takes from pyproject.toml: a name and the Python version it asks for. */
export interface PyprojectInfo {
  file: string;
  name?: string;
  /** As written: ">=3.10", "^3.11". */
  requiresPython?: string;
  /** The first X.Y in requiresPython ("3.10"), a hint for choosing an image. */
  pythonVersion?: string;
}

/**
 * Reads the few keys we need with a line scanner rather than a TOML parser:
 * `[project]` (PEP 621) and `[tool.poetry]` names, `requires-python` and
 * poetry's `python` dependency. Anything fancier is simply not found.
 */
export async function readPyproject(projectDir: string): Promise<PyprojectInfo | undefined> {
  const file = join(projectDir, 'pyproject.toml');
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return { file, ...parsePyproject(text) };
}

export function parsePyproject(text: string): Omit<PyprojectInfo, 'file'> {
  const tables = new Map<string, Map<string, string>>();
  let current = '';
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/\s+#.*$/, '').trim();
    const header = /^\[([^[\]]+)\]$/.exec(line);
    if (header) {
      current = header[1]!.trim().replace(/\s*\.\s*/g, '.');
      continue;
    }
    const pair = /^([A-Za-z0-9_.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(line);
    if (!pair) continue;
    if (!tables.has(current)) tables.set(current, new Map());
    tables.get(current)!.set(pair[1]!, pair[2] ?? pair[3]!);
  }
  const name = tables.get('project')?.get('name') ?? tables.get('tool.poetry')?.get('name');
  const requiresPython = tables.get('project')?.get('requires-python') ?? tables.get('tool.poetry.dependencies')?.get('python');
  const pythonVersion = requiresPython ? /(\d+\.\d+)/.exec(requiresPython)?.[1] : undefined;
  return {
    ...(name ? { name } : {}),
    ...(requiresPython ? { requiresPython } : {}),
    ...(pythonVersion ? { pythonVersion } : {}),
  };
}
