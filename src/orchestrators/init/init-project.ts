import { constants as fsConstants } from 'node:fs';
import { appendFile, copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { DEFAULT_BASE_IMAGE, defaultProjectName } from '../../services/config/defaults.ts';
import { chooseDevcontainer } from '../../services/config/detect.ts';
import { readPyproject } from '../../services/config/detect-pyproject.ts';
import { importDevcontainer, projectSlug } from '../../services/config/devcontainer/import.ts';
import { LOCAL_CONFIG_FILE, PROJECT_CONFIG_FILE } from '../../services/config/loader.ts';
import { configJsonSchema } from '../../services/config/schema.ts';
import { lockfilePath } from '../../services/features/lockfile.ts';
import { type InitPlan, renderConfig } from './render-config.ts';

/** The editor schema lives in the project, so it matches the installed mltoolbox and works offline. */
export const SCHEMA_FILE = '.mltoolbox/schema.json';

export interface InitOptions {
  projectDir: string;
  force: boolean;
  /** `--devcontainer NAME` */
  devcontainerName?: string;
  interactive: boolean;
  prompt?: (question: string, choices: readonly string[]) => Promise<string>;
  reporter: Reporter;
}

export interface InitResult {
  file: string;
  /** The previous mltoolbox.yaml, kept when --force replaced it. */
  backup?: string;
  schemaFile: string;
  source: { kind: InitPlan['sourceKind']; file?: string };
  projectName: string;
  pythonVersion?: string;
  /** Settings that could not be converted (also written as comments in the file). */
  warnings: string[];
  /** Whether mltoolbox.local.yaml was added to .gitignore. */
  gitignoreUpdated: boolean;
}

function projectRelative(projectDir: string, file: string): string {
  return relative(projectDir, file).split(sep).join('/');
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/**
 * `mltoolbox init`: writes a commented mltoolbox.yaml from what the project
 * already has (a devcontainer.json is converted, a Dockerfile is referenced,
 * pyproject.toml names the project), plus the editor schema, and keeps
 * mltoolbox.local.yaml out of git.
 */
export async function initProject(options: InitOptions): Promise<InitResult> {
  const { projectDir, reporter } = options;
  const file = join(projectDir, PROJECT_CONFIG_FILE);
  const hasConfig = await exists(file);
  if (hasConfig && !options.force) {
    throw new UserError('CONFIG_EXISTS', `${PROJECT_CONFIG_FILE} already exists in ${projectDir}`,
      'edit it, or run `mltoolbox init --force` to write a new one (the old one is kept as mltoolbox.yaml.bak)', { data: { file } });
  }

  const plan = await planInit(options);
  const text = renderConfig(plan);

  let backup: string | undefined;
  if (hasConfig) {
    backup = await keepBackup(file);
    reporter.info(`kept the previous ${PROJECT_CONFIG_FILE} as ${basename(backup)}`);
  }
  const schemaFile = join(projectDir, SCHEMA_FILE);
  await mkdir(dirname(schemaFile), { recursive: true });
  await writeFile(schemaFile, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  await writeFile(file, text);
  const lockfile = plan.sourceKind === 'devcontainer' && plan.sourceFile && 'features' in plan.environment
    ? await keepFeatureLock(join(projectDir, plan.sourceFile), file) : undefined;
  if (lockfile) reporter.info(`copied ${projectRelative(projectDir, lockfile.from)} to ${projectRelative(projectDir, lockfile.to)} (the features' pinned versions)`);
  const gitignoreUpdated = await ignoreLocalConfig(projectDir);

  return {
    file,
    ...(backup ? { backup } : {}),
    schemaFile,
    source: { kind: plan.sourceKind, ...(plan.sourceFile ? { file: plan.sourceFile } : {}) },
    projectName: plan.projectName,
    ...(plan.pythonVersion ? { pythonVersion: plan.pythonVersion } : {}),
    warnings: [...plan.notConverted],
    gitignoreUpdated,
  };
}

/** Detection only, no writing: what `init` would put in mltoolbox.yaml. */
export async function planInit(options: Omit<InitOptions, 'force'>): Promise<InitPlan> {
  const { projectDir, reporter } = options;
  const pyproject = await readPyproject(projectDir);
  const devcontainer = await chooseDevcontainer(projectDir, {
    interactive: options.interactive,
    ...(options.prompt ? { prompt: options.prompt } : {}),
    ...(options.devcontainerName !== undefined ? { devcontainerName: options.devcontainerName } : {}),
  });

  let sourceKind: InitPlan['sourceKind'] = 'defaults';
  let sourceFile: string | undefined;
  let environment: Record<string, unknown> = { base_image: DEFAULT_BASE_IMAGE };
  let workdir: string | undefined;
  let devcontainerName: string | undefined;
  const notConverted: string[] = [];

  if (devcontainer) {
    // `reference`: ${localEnv:TOKEN} becomes ${env:TOKEN:-}, never the token's value in a committed file.
    const imported = await importDevcontainer(devcontainer.file, { projectDir, localEnv: 'reference' });
    sourceKind = 'devcontainer';
    sourceFile = projectRelative(projectDir, devcontainer.file);
    reporter.info(`using ${sourceFile}`);
    for (const warning of imported.warnings) reporter.warn(warning);
    for (const note of imported.notes) reporter.debug(note);
    notConverted.push(...imported.warnings);
    const value = imported.layer.value as { project?: { name?: string; workdir?: string }; environment?: Record<string, unknown> };
    environment = value.environment ?? {};
    if (!('base_image' in environment) && !('dockerfile' in environment)) environment = { base_image: DEFAULT_BASE_IMAGE, ...environment };
    workdir = value.project?.workdir;
    devcontainerName = value.project?.name;
  } else if (await exists(join(projectDir, 'Dockerfile'))) {
    sourceKind = 'dockerfile';
    sourceFile = 'Dockerfile';
    environment = { dockerfile: { path: 'Dockerfile', context: '.' } };
    reporter.info('using Dockerfile');
  } else {
    reporter.info('no devcontainer.json or Dockerfile: using the default image');
  }

  const pyName = pyproject?.name ? projectSlug(pyproject.name) : '';
  const [projectName, nameFrom]: [string, InitPlan['nameFrom']] = pyName
    ? [pyName, 'pyproject.toml']
    : devcontainerName ? [devcontainerName, 'devcontainer.json'] : [defaultProjectName(projectDir), 'folder name'];

  return {
    projectName,
    nameFrom,
    sourceKind,
    ...(sourceFile ? { sourceFile } : {}),
    environment,
    ...(workdir ? { workdir } : {}),
    ...(pyproject?.requiresPython ? { requiresPython: pyproject.requiresPython } : {}),
    ...(pyproject?.pythonVersion ? { pythonVersion: pyproject.pythonVersion } : {}),
    notConverted,
    schemaRef: SCHEMA_FILE,
  };
}

/**
 * The features now live in mltoolbox.yaml, whose lockfile sits beside it:
 * copy devcontainer.json's lockfile there so the pinned versions stay pinned
 * (never over an existing one).
 */
async function keepFeatureLock(devcontainerFile: string, configFile: string): Promise<{ from: string; to: string } | undefined> {
  const from = lockfilePath(devcontainerFile);
  const to = lockfilePath(configFile);
  if (from === to || !(await exists(from))) return undefined;
  try {
    await copyFile(from, to, fsConstants.COPYFILE_EXCL);
    return { from, to };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
}

/** Appends mltoolbox.local.yaml to an existing .gitignore (never creates one, never rewrites it). */
async function ignoreLocalConfig(projectDir: string): Promise<boolean> {
  const gitignore = join(projectDir, '.gitignore');
  const text = await readFile(gitignore, 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  const listed = text.split(/\r?\n/).some((line) => ['mltoolbox.local.yaml', '/mltoolbox.local.yaml', '*.local.yaml'].includes(line.trim()));
  if (listed) return false;
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  await appendFile(gitignore, `${separator}${LOCAL_CONFIG_FILE}\n`);
  return true;
}

/**
 * Copies file to file.bak, or file.bak.<time> when a backup is already there:
 * a second `init --force` must not overwrite the user's original with the
 * first generated file.
 */
async function keepBackup(file: string): Promise<string> {
  for (const candidate of [`${file}.bak`, `${file}.bak.${new Date().toISOString().replace(/[:.]/g, '-')}`]) {
    try {
      await copyFile(file, candidate, fsConstants.COPYFILE_EXCL);
      return candidate;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  throw new Error(`could not choose a backup name for ${file}`);
}
