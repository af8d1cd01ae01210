import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { ConfigLayer } from './layer.ts';
import { PROJECT_CONFIG_FILE } from './loader.ts';

/**
 * Which file describes the project's container, in this order:
 * mltoolbox.yaml > .devcontainer/devcontainer.json or .devcontainer.json >
 * .devcontainer/<name>/devcontainer.json > Dockerfile > mltoolbox's defaults.
 * An explicit `--devcontainer NAME` skips mltoolbox.yaml. Commands print `description` so people see which one was used.
 */
export type ConfigSourceKind = 'mltoolbox' | 'devcontainer' | 'dockerfile' | 'defaults';

export interface ConfigSource {
  kind: ConfigSourceKind;
  /** Absolute path of the file used, if any. */
  file?: string;
  /** The file's values as a config layer; undefined for mltoolbox.yaml (the core loader reads it) and defaults. */
  layer?: ConfigLayer;
  /** "using .devcontainer/gpu/devcontainer.json" */
  description: string;
  /** From the devcontainer.json import: settings dropped or partly kept (show them). */
  warnings: string[];
  /** From the devcontainer.json import: settings ignored on purpose (verbose output). */
  notes: string[];
}

export interface DetectOptions {
  /** `--devcontainer NAME`: a folder under .devcontainer/. Explicit, so it wins over mltoolbox.yaml. */
  devcontainerName?: string;
  /** May we ask which devcontainer to use? */
  interactive: boolean;
  /** Asks the user to pick one of `choices`; returns the choice. */
  prompt?: (question: string, choices: readonly string[]) => Promise<string>;
  env?: NodeJS.ProcessEnv;
}

/** A devcontainer.json the project has, named as `--devcontainer` would name it. */
export interface DevcontainerCandidate {
  /** Folder name under .devcontainer/, or undefined for the default locations. */
  name?: string;
  file: string;
}

export interface DevcontainerFiles {
  /** .devcontainer/devcontainer.json, else .devcontainer.json. */
  primary?: string;
  /** .devcontainer/<name>/devcontainer.json, sorted by name. */
  named: DevcontainerCandidate[];
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

export async function findDevcontainerFiles(projectDir: string): Promise<DevcontainerFiles> {
  let primary: string | undefined;
  for (const candidate of [join(projectDir, '.devcontainer', 'devcontainer.json'), join(projectDir, '.devcontainer.json')]) {
    if (await isFile(candidate)) {
      primary = candidate;
      break;
    }
  }
  const named: DevcontainerCandidate[] = [];
  const entries = await readdir(join(projectDir, '.devcontainer'), { withFileTypes: true }).catch(() => []);
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = join(projectDir, '.devcontainer', entry.name, 'devcontainer.json');
    if (await isFile(file)) named.push({ name: entry.name, file });
  }
  return { primary, named };
}

/**
 * Picks the devcontainer.json to use, or undefined when there is none.
 * Several named ones and no choice: ask if we may, else DEVCONTAINER_AMBIGUOUS.
 */
export async function chooseDevcontainer(projectDir: string, options: DetectOptions): Promise<DevcontainerCandidate | undefined> {
  const found = await findDevcontainerFiles(projectDir);
  const names = found.named.map((c) => c.name!);
  if (options.devcontainerName !== undefined) {
    const wanted = options.devcontainerName.replace(/[/\\]+$/, '');
    const match = found.named.find((c) => c.name === wanted);
    if (match) return match;
    throw new UserError('DEVCONTAINER_NOT_FOUND', `no .devcontainer/${wanted}/devcontainer.json in ${projectDir}`,
      names.length > 0 ? `pass one of: ${names.map((n) => `--devcontainer ${n}`).join(', ')}` : 'this project has no named dev containers; drop --devcontainer',
      { data: { name: wanted, available: names } });
  }
  if (found.primary) return { file: found.primary };
  if (found.named.length === 0) return undefined;
  if (found.named.length === 1) return found.named[0];
  if (options.interactive && options.prompt) {
    const choice = await options.prompt('Which dev container should mltoolbox use?', names);
    const match = found.named.find((c) => c.name === choice);
    if (match) return match;
  }
  throw new UserError('DEVCONTAINER_AMBIGUOUS', `this project has ${names.length} dev containers: ${names.join(', ')}`,
    `choose one with --devcontainer NAME (for example --devcontainer ${names[0]})`,
    { data: { available: names } });
}

function shown(projectDir: string, file: string): string {
  return relative(projectDir, file).split(sep).join('/');
}

export async function detectProjectConfigSource(projectDir: string, options: DetectOptions): Promise<ConfigSource> {
  const projectFile = join(projectDir, PROJECT_CONFIG_FILE);
  if (options.devcontainerName === undefined && (await isFile(projectFile))) {
    return { kind: 'mltoolbox', file: projectFile, description: `using ${PROJECT_CONFIG_FILE}`, warnings: [], notes: [] };
  }
  const devcontainer = await chooseDevcontainer(projectDir, options);
  if (devcontainer) {
    // Imported lazily: jsonc-parser is only needed by projects that have a devcontainer.json.
    const { importDevcontainer } = await import('./devcontainer/import.ts');
    const imported = await importDevcontainer(devcontainer.file, { projectDir, env: options.env ?? {}, localEnv: 'reference' });
    return {
      kind: 'devcontainer',
      file: devcontainer.file,
      layer: imported.layer,
      description: `using ${shown(projectDir, devcontainer.file)}`,
      warnings: imported.warnings,
      notes: imported.notes,
    };
  }
  const dockerfile = join(projectDir, 'Dockerfile');
  if (await isFile(dockerfile)) {
    return {
      kind: 'dockerfile',
      file: dockerfile,
      layer: dockerfileLayer(dockerfile),
      description: 'using Dockerfile (no mltoolbox.yaml or devcontainer.json)',
      warnings: [],
      notes: [],
    };
  }
  return { kind: 'defaults', description: 'using mltoolbox defaults (no mltoolbox.yaml, devcontainer.json or Dockerfile)', warnings: [], notes: [] };
}

/** A project-root Dockerfile, built with the project as its context. */
export function dockerfileLayer(file: string): ConfigLayer {
  const origin = { kind: 'dockerfile' as const, file, line: 1, column: 1 };
  return {
    kind: 'dockerfile',
    file,
    value: { environment: { dockerfile: { path: 'Dockerfile', context: '.' } } },
    origins: new Map([
      ['environment', origin],
      ['environment.dockerfile', origin],
      ['environment.dockerfile.path', origin],
      ['environment.dockerfile.context', origin],
    ]),
  };
}

