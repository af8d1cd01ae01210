import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { ConfigLayer } from './layer.ts';
import { isPlainObject } from './merge.ts';
import { problemsError } from './problems.ts';

export interface ReferencedDevcontainer {
  /** The layers with the devcontainer.json's layer just below the one naming it, and the key removed from that one. */
  layers: ConfigLayer[];
  file: string;
  warnings: string[];
}

const referenceOf = (layer: ConfigLayer): string | undefined => {
  const environment = layer.value.environment;
  return isPlainObject(environment) && typeof environment.devcontainer === 'string' ? environment.devcontainer : undefined;
};

/**
 * `environment.devcontainer: PATH` in a config file: reads that devcontainer.json
 * with the same mapping as auto-detection (docs/configuration.md) and puts its
 * layer right below the file that names it, so the file's own keys still win and
 * every value keeps its position in the devcontainer.json. Only the highest
 * layer's reference counts (a higher image source replaces a lower one).
 * Undefined when no layer names one, or a higher layer replaced it.
 */
export async function expandDevcontainerReference(
  layers: readonly ConfigLayer[],
  winner: unknown,
  options: { projectDir: string; env: NodeJS.ProcessEnv },
): Promise<ReferencedDevcontainer | undefined> {
  if (typeof winner !== 'string') return undefined;
  const index = layers.findLastIndex((layer) => referenceOf(layer) === winner);
  if (index === -1) return undefined;
  const naming = layers[index]!;
  // Two image sources in one file: validation says so, pointing at the second.
  const environment = naming.value.environment as Record<string, unknown>;
  if (environment.base_image !== undefined || environment.dockerfile !== undefined) return undefined;
  const origin = naming.origins.get('environment.devcontainer');
  const base = naming.file ? dirname(naming.file) : options.projectDir;
  const file = resolve(base, winner);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    const sources = new Map(naming.file && naming.source !== undefined ? [[naming.file, naming.source]] : []);
    throw problemsError('DEVCONTAINER_NOT_FOUND', 'environment.devcontainer names no file', `fix the path (relative to ${naming.file ? 'the config file that names it' : 'the project folder'}), or run 'mltoolbox init' to convert the devcontainer.json once`,
      [{ message: `environment.devcontainer: ${file} ${info ? 'is not a file' : 'does not exist'}`, key: 'environment.devcontainer', ...(origin ? { origin } : {}) }], sources, options.projectDir);
  }
  // Imported lazily: jsonc-parser is only needed by projects that have a devcontainer.json.
  const { importDevcontainer } = await import('./devcontainer/import.ts');
  const imported = await importDevcontainer(file, { projectDir: options.projectDir, env: options.env, localEnv: 'reference' }).catch((error: unknown) => {
    if (error instanceof UserError && error.code === 'CONFIG_UNREADABLE' && origin?.file) {
      throw new UserError(error.code, error.message, `${error.hint} (named by environment.devcontainer at ${origin.file}:${origin.line ?? 1}:${origin.column ?? 1})`, { cause: error });
    }
    throw error;
  });
  const { devcontainer: _named, ...rest } = environment;
  const origins = new Map([...naming.origins].filter(([key]) => key !== 'environment.devcontainer'));
  const stripped: ConfigLayer = { ...naming, value: { ...naming.value, environment: rest }, origins };
  return { layers: [...layers.slice(0, index), imported.layer, stripped, ...layers.slice(index + 1)], file, warnings: imported.warnings };
}
