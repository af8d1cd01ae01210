import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { getNodeValue, type Node } from 'jsonc-parser';
import { envNameProblem } from '../../../core/env-name.ts';
import { UserError } from '../../../core/errors.ts';
import { readConfigFile } from '../config-text.ts';
import { DEFAULT_WORKDIR } from '../defaults.ts';
import type { ConfigLayer, KeyPath, Origin } from '../layer.ts';
import { type ConfigProblem, displayOrigin, displayPath, problemsError } from '../problems.ts';
import { createPositionLookup, objectEntries, parseJsoncTree } from './jsonc.ts';
import { createLayerBuilder, type LayerBuilder } from './layer-builder.ts';
import { LIFECYCLE_KEYS, TARGET } from './keys.ts';
import { mountToVolume, parseMountObject, parseMountString } from './mounts.ts';
import { type GpuRequest, parseRunArgs } from './run-args.ts';
import { substituteVariables, usesContainerEnv, type VariableContext } from './variables.ts';

export interface DevcontainerImportOptions {
  /** The project folder (where mltoolbox.yaml would live); paths become relative to it. */
  projectDir: string;
  env?: NodeJS.ProcessEnv;
  /**
   * 'reference' (default): `${localEnv:X:default}` becomes `${env:X:-default}`, expanded by the loader with the rest.
   * 'resolve': it takes its value from `env` now, as the devcontainer CLI does.
   */
  localEnv?: 'resolve' | 'reference';
  /** The container folder mltoolbox uses when devcontainer.json names none (for ${containerWorkspaceFolder}). Default: /workspace. */
  defaultWorkdir?: string;
  /**
   * Folder that Dockerfile/context paths are written relative to. Default: the
   * project folder (where mltoolbox.yaml lives, so `init` output and the layer agree).
   */
  pathsRelativeTo?: string;
}

export interface DevcontainerImport {
  layer: ConfigLayer;
  /** Settings that were ignored on purpose (editor customizations…): worth a debug/info line. */
  notes: string[];
  /** Settings that were dropped or only partly kept: show them to the user. */
  warnings: string[];
}

/** Keys that only matter to an editor or to the devcontainer CLI's own lifecycle. */
const IGNORED: Readonly<Record<string, string>> = {
  $schema: 'editor schema hint',
  customizations: 'editor settings and extensions (VS Code, Codespaces) do not apply to mltoolbox',
  extensions: 'editor extensions (legacy) do not apply to mltoolbox',
  settings: 'editor settings (legacy) do not apply to mltoolbox',
  shutdownAction: 'mltoolbox stops containers with `mltoolbox stop`',
  overrideCommand: 'mltoolbox always keeps the container running with its own command',
  updateRemoteUserUID: 'not applicable: the container runs on the remote host',
  userEnvProbe: 'not applicable',
  waitFor: 'mltoolbox waits for every lifecycle command',
  portsAttributes: 'port labels and auto-forward behaviour are editor settings',
  otherPortsAttributes: 'port labels and auto-forward behaviour are editor settings',
  remoteEnvProbe: 'not applicable',
  secrets: 'declare secrets with `mltoolbox secret set` and `${secret:NAME}`',
};

const UNSUPPORTED: Readonly<Record<string, string>> = {
  dockerComposeFile: 'Docker Compose based dev containers',
  service: 'Docker Compose based dev containers',
  runServices: 'Docker Compose based dev containers',
};

/** Keys handled by the main mapping (everything else is ignored with a note). */
const HANDLED = new Set([
  'name', 'image', 'build', 'dockerFile', 'context', 'runArgs', 'mounts', 'forwardPorts', 'appPort', 'containerEnv', 'remoteEnv',
  'remoteUser', 'containerUser', 'workspaceFolder', 'workspaceMount', 'hostRequirements', 'privileged', 'capAdd', 'securityOpt', 'init',
  'features', 'overrideFeatureInstallOrder',
  ...LIFECYCLE_KEYS,
]);

export async function importDevcontainer(file: string, options: DevcontainerImportOptions): Promise<DevcontainerImport> {
  let text: string;
  try {
    text = await readConfigFile(resolve(options.projectDir, file), 'devcontainer');
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError('CONFIG_UNREADABLE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      'check the file exists and is readable', { cause: error });
  }
  return importDevcontainerText(text, file, options);
}

/** Maps devcontainer.json (already read) to a ConfigLayer in mltoolbox.yaml's shape. */
export function importDevcontainerText(withBom: string, file: string, options: DevcontainerImportOptions): DevcontainerImport {
  const text = withBom.replace(/^\uFEFF/, ''); // editors write a BOM: positions count from after it
  const absFile = resolve(options.projectDir, file);
  const shown = displayPath(absFile, options.projectDir);
  const tree = parseJsoncTree(text, absFile, options.projectDir);
  const position = createPositionLookup(text);
  const origin = (node: Node): Origin => ({ kind: 'devcontainer', file: absFile, ...position(node.offset) });
  const at = (node: Node) => displayOrigin(origin(node), options.projectDir);
  const sources = new Map([[absFile, text]]);
  // JSON semantics: the last duplicate key wins.
  const top = new Map(objectEntries(tree).map((e) => [e.key, e]));

  const unsupported = [...top.values()].filter((e) => e.key in UNSUPPORTED && !isEmpty(e.value));
  if (unsupported.length > 0) {
    const names = [...new Set(unsupported.map((e) => e.key))];
    throw problemsError('DEVCONTAINER_UNSUPPORTED', `${shown} uses ${names.map((n) => `'${n}'`).join(', ')}, which mltoolbox does not support`,
      'use the main service\'s image (image) or Dockerfile (build.dockerfile) instead of Docker Compose',
      unsupported.map((e) => ({ message: `'${e.key}' (${UNSUPPORTED[e.key]}) is not supported`, origin: origin(e.keyNode), key: e.key })),
      sources, options.projectDir);
  }

  const state: MapState = {
    builder: createLayerBuilder(absFile, position),
    context: createContext(options, top),
    at, origin,
    notes: [], warnings: [], problems: [],
    projectDir: options.projectDir,
    pathBase: options.pathsRelativeTo ?? options.projectDir,
    file: absFile,
  };

  for (const entry of top.values()) {
    if (entry.key in UNSUPPORTED) state.notes.push(`${at(entry.keyNode)}: empty '${entry.key}' ignored`);
    else if (entry.key in IGNORED) state.notes.push(`${at(entry.keyNode)}: '${entry.key}' ignored: ${IGNORED[entry.key]}`);
    else if (!HANDLED.has(entry.key)) state.notes.push(`${at(entry.keyNode)}: '${entry.key}' is not used by mltoolbox and was ignored`);
  }

  const get = (key: string) => top.get(key)?.value;
  mapName(state, get('name'));
  mapImageAndBuild(state, top);
  mapWorkspace(state, get('workspaceFolder'), get('workspaceMount'));
  mapRunArgs(state, get('runArgs'));
  mapExtraRunFlags(state, top);
  mapMounts(state, get('mounts'));
  mapPorts(state, get('forwardPorts'), get('appPort'));
  mapEnv(state, get('containerEnv'), 'containerEnv');
  mapEnv(state, get('remoteEnv'), 'remoteEnv');
  mapUser(state, get('remoteUser'), get('containerUser'));
  for (const key of LIFECYCLE_KEYS) mapLifecycle(state, key, get(key));
  mapHostRequirements(state, get('hostRequirements'));
  mapFeatures(state, get('features'), get('overrideFeatureInstallOrder'));

  if (state.problems.length > 0) {
    throw problemsError('CONFIG_INVALID', `${shown} has invalid settings`,
      'fix each listed value (reference: https://containers.dev/implementors/json_reference/)', state.problems, sources, options.projectDir);
  }
  const layer = state.builder.build();
  layer.source = text;
  return { layer, notes: state.notes, warnings: state.warnings };
}

interface MapState {
  builder: LayerBuilder;
  context: VariableContext;
  /** `path:line:col` of a node, for notes and warnings. */
  at(node: Node): string;
  origin(node: Node): Origin;
  notes: string[];
  warnings: string[];
  problems: ConfigProblem[];
  projectDir: string;
  pathBase: string;
  file: string;
}

type TopEntries = Map<string, { keyNode: Node; value: Node }>;

function problem(state: MapState, node: Node, message: string, key?: string): void {
  state.problems.push({ message, origin: state.origin(node), ...(key ? { key } : {}) });
}

function isEmpty(node: Node): boolean {
  return (node.type === 'object' || node.type === 'array') && (node.children?.length ?? 0) === 0;
}

function createContext(options: DevcontainerImportOptions, top: Map<string, { value: Node }>): VariableContext {
  const context: VariableContext = {
    localWorkspaceFolder: options.projectDir,
    containerWorkspaceFolder: options.defaultWorkdir ?? DEFAULT_WORKDIR,
    env: options.env ?? {},
    localEnv: options.localEnv ?? 'reference',
  };
  const folder = top.get('workspaceFolder')?.value;
  const chosen = folder?.type === 'string' ? String(folder.value) : workspaceMountTarget(top.get('workspaceMount')?.value);
  if (chosen) context.containerWorkspaceFolder = substituteVariables(chosen, context).value;
  return context;
}

function workspaceMountTarget(node: Node | undefined): string | undefined {
  if (node?.type === 'string') return parseMountString(String(node.value)).target;
  if (node?.type === 'object') return parseMountObject(getNodeValue(node) as Record<string, unknown>).target;
  return undefined;
}

/** Substitutes variables in one string value and warns about those with no translation. */
function text(state: MapState, node: Node, raw: string): string {
  const result = substituteVariables(raw, state.context);
  if (result.unresolved.length > 0) {
    state.warnings.push(`${state.at(node)}: ${result.unresolved.join(', ')} has no mltoolbox equivalent and was kept as written`);
  }
  return result.value;
}

function expectString(state: MapState, key: string, node: Node): string | undefined {
  if (node.type === 'string') return String(node.value);
  problem(state, node, `'${key}' must be a string, not ${node.type}`, key);
  return undefined;
}

function scalarString(node: Node): string | undefined {
  if (node.type === 'string' || node.type === 'number' || node.type === 'boolean') return String(node.value);
  return undefined;
}

/** devcontainer names are display names ("Python 3 (GPU)"); project.name must be a folder-safe slug. */
function mapName(state: MapState, node: Node | undefined): void {
  if (!node) return;
  const name = expectString(state, 'name', node);
  if (name === undefined) return;
  const slug = projectSlug(text(state, node, name));
  if (!slug) {
    state.notes.push(`${state.at(node)}: name ${JSON.stringify(name)} has no letters or digits; the folder name is used`);
    return;
  }
  if (slug !== name) state.notes.push(`${state.at(node)}: name ${JSON.stringify(name)} becomes project.name '${slug}'`);
  state.builder.set(TARGET.name, slug, node);
}

export function projectSlug(name: string): string {
  return name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').trim().toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').replace(/-+$/, '');
}

/** A path written relative to the devcontainer.json's folder, re-expressed relative to pathBase (POSIX). */
function rebasePath(state: MapState, node: Node, raw: string): string {
  const absolute = resolve(dirname(state.file), text(state, node, raw));
  if (!isInside(state.projectDir, absolute)) {
    state.warnings.push(`${state.at(node)}: '${raw}' is outside the project folder, so it is not synced to the remote host; move it into the project`);
  }
  const rel = relative(state.pathBase, absolute);
  return rel === '' ? '.' : isAbsolute(rel) ? absolute : rel.split(sep).join('/');
}

function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function mapImageAndBuild(state: MapState, top: TopEntries): void {
  const image = top.get('image')?.value;
  const build = top.get('build')?.value;
  const buildEntries = buildSection(state, build);
  const dockerfileNode = buildEntries.get('dockerfile')?.value ?? top.get('dockerFile')?.value;
  mapImage(state, image, dockerfileNode !== undefined);
  if (dockerfileNode) mapDockerfile(state, dockerfileNode, buildEntries, top.get('context')?.value);
  else withoutDockerfile(state, image, build);
}

/** No Dockerfile: a `build` without one is a problem; with no image either, the default image is used. */
function withoutDockerfile(state: MapState, image: Node | undefined, build: Node | undefined): void {
  if (build?.type === 'object') problem(state, build, `'build' needs a 'dockerfile'`, 'build');
  else if (!image) state.warnings.push(`${displayPath(state.file, state.projectDir)}: neither 'image' nor 'build.dockerfile' is set; mltoolbox's default image is used`);
}

/** The entries of `build` (none when it is missing, or not an object: a problem). */
function buildSection(state: MapState, build: Node | undefined): TopEntries {
  if (build === undefined) return new Map();
  if (build.type !== 'object') {
    problem(state, build, `'build' must be an object`, 'build');
    return new Map();
  }
  return new Map(objectEntries(build).map((e) => [e.key, e]));
}

/** build.dockerfile (or the old top-level dockerFile/context) and the rest of `build`. */
function mapDockerfile(state: MapState, dockerfileNode: Node, buildEntries: TopEntries, topContext: Node | undefined): void {
  const path = expectString(state, 'build.dockerfile', dockerfileNode);
  if (path === undefined) return;
  state.builder.set([...TARGET.dockerfile, 'path'], rebasePath(state, dockerfileNode, path), dockerfileNode);
  mapBuildContext(state, buildEntries.get('context')?.value ?? topContext, dockerfileNode);
  mapBuildArgs(state, buildEntries.get('args')?.value);
  mapBuildTarget(state, buildEntries.get('target')?.value);
  for (const [key, entry] of buildEntries) {
    if (!['dockerfile', 'context', 'args', 'target'].includes(key)) {
      state.warnings.push(`${state.at(entry.keyNode)}: 'build.${key}' has no mltoolbox equivalent and was ignored`);
    }
  }
}

/** `image`, unless a Dockerfile is set too (the Dockerfile wins, with a warning). */
function mapImage(state: MapState, image: Node | undefined, hasDockerfile: boolean): void {
  if (!image) return;
  if (hasDockerfile) {
    state.warnings.push(`${state.at(image)}: both 'image' and a Dockerfile are set; the Dockerfile is used`);
    return;
  }
  const value = expectString(state, 'image', image);
  if (value !== undefined) state.builder.set(TARGET.baseImage, text(state, image, value), image);
}

/**
 * The devcontainer default context is the devcontainer.json's folder; write it out, since
 * mltoolbox's default (the Dockerfile's folder) can differ.
 */
function mapBuildContext(state: MapState, contextNode: Node | undefined, dockerfileNode: Node): void {
  const contextRaw = contextNode ? expectString(state, 'build.context', contextNode) : '.';
  if (contextRaw !== undefined) state.builder.set([...TARGET.dockerfile, 'context'], rebasePath(state, contextNode ?? dockerfileNode, contextRaw), contextNode ?? dockerfileNode);
}

function mapBuildTarget(state: MapState, stage: Node | undefined): void {
  const stageName = stage && expectString(state, 'build.target', stage);
  if (stage && stageName !== undefined) state.builder.set([...TARGET.dockerfile, 'target'], stageName, stage);
}

function mapBuildArgs(state: MapState, args: Node | undefined): void {
  if (!args) return;
  if (args.type !== 'object') return problem(state, args, `'build.args' must be an object of strings`, 'build.args');
  for (const arg of objectEntries(args)) {
    const value = scalarString(arg.value);
    if (value === undefined) problem(state, arg.value, `build arg '${arg.key}' must be a string`, `build.args.${arg.key}`);
    else state.builder.set([...TARGET.dockerfile, 'args', arg.key], text(state, arg.value, value), arg.value);
  }
}

function mapWorkspace(state: MapState, folder: Node | undefined, mount: Node | undefined): void {
  if (folder) {
    if (expectString(state, 'workspaceFolder', folder) !== undefined) state.builder.set(TARGET.workdir, state.context.containerWorkspaceFolder, folder);
  } else if (mount && workspaceMountTarget(mount)) {
    state.builder.set(TARGET.workdir, state.context.containerWorkspaceFolder, mount);
  }
  if (mount) state.notes.push(`${state.at(mount)}: 'workspaceMount' is used only for its target folder; mltoolbox mounts the synced project itself`);
}

function mapRunArgs(state: MapState, node: Node | undefined): void {
  if (!node) return;
  if (node.type !== 'array') return problem(state, node, `'runArgs' must be an array of strings`, 'runArgs');
  const items = node.children ?? [];
  const values: string[] = [];
  for (const item of items) {
    if (item.type !== 'string') return problem(state, item, 'each runArgs item must be a string', 'runArgs');
    values.push(text(state, item, String(item.value)));
  }
  for (const { index, effect } of parseRunArgs(values)) {
    const from = items[index]!;
    switch (effect.key) {
      case 'gpus': setGpus(state, effect.value, from); break;
      case 'shm_size': setShmSize(state, effect.value, from); break;
      case 'env': state.builder.set([...TARGET.env, effect.name], effect.value, from); break;
      case 'volume': addVolume(state, volumeSpec(state, effect.value), from); break;
      case 'ipc':
        state.warnings.push(`${state.at(from)}: '--ipc=${effect.value}' dropped: mltoolbox has no ipc setting; environment.shm_size (default 8g) covers PyTorch's shared memory`);
        break;
      case 'network': state.builder.set(TARGET.networkMode, effect.value, from); break;
      case 'port': state.builder.push(TARGET.ports, portValue(effect.value), from); break;
      case 'user': state.builder.set(TARGET.user, effect.value, from); break;
      case 'passthrough': dropped(state, effect.args, from); break;
    }
  }
}

/** mltoolbox.yaml has no raw docker-run escape hatch: say exactly what is lost. */
function dropped(state: MapState, args: readonly string[], from: Node): void {
  state.warnings.push(`${state.at(from)}: docker run argument '${args.join(' ')}' dropped: mltoolbox.yaml has no equivalent`);
}

function setGpus(state: MapState, request: GpuRequest, from: Node): void {
  // `--gpus` makes docker fail without GPUs: that is "required".
  state.builder.set(TARGET.gpus, 'required', from);
  if (request.kind === 'all') state.builder.set(TARGET.gpuCount, 'all', from);
  else if (request.kind === 'count') state.builder.set(TARGET.gpuCount, request.count, from);
  else {
    state.builder.set(TARGET.gpuCount, request.devices.length, from);
    state.warnings.push(`${state.at(from)}: GPU devices ${request.devices.join(',')} cannot be pinned; mltoolbox gives the container ${request.devices.length} GPU${request.devices.length === 1 ? '' : 's'} (environment.gpu_count)`);
  }
}

function setShmSize(state: MapState, raw: string, from: Node): void {
  // docker accepts "16gb"; the schema's form is "16g".
  const value = raw.replace(/^(\d+(?:\.\d+)?)([kmgKMG])[bB]$/, '$1$2');
  state.builder.set(TARGET.shmSize, value, from);
}

/** privileged/capAdd/securityOpt/init are docker run flags under devcontainer.json's own keys. */
function mapExtraRunFlags(state: MapState, top: TopEntries): void {
  for (const [key, flag] of [['privileged', '--privileged'], ['init', '--init']] as const) {
    const node = top.get(key)?.value;
    if (node?.type === 'boolean' && node.value === true) dropped(state, [flag], node);
  }
  for (const [key, flag] of [['capAdd', '--cap-add'], ['securityOpt', '--security-opt']] as const) {
    const node = top.get(key)?.value;
    if (!node) continue;
    if (node.type !== 'array') problem(state, node, `'${key}' must be an array of strings`, key);
    else for (const item of node.children ?? []) dropped(state, [`${flag}=${String(getNodeValue(item))}`], item);
  }
}

/**
 * A bind source on this machine: inside the project it becomes a relative
 * path (the project is synced to the host); anywhere else it names a path on
 * the remote host, which is worth saying.
 */
function volumeSpec(state: MapState, spec: string): string {
  const [source, ...rest] = spec.split(':');
  if (!source || rest.length === 0 || !isAbsolute(source)) return spec;
  if (!isInside(state.projectDir, source)) return spec;
  const rel = relative(state.projectDir, source).split(sep).join('/');
  return [rel === '' ? '.' : `./${rel}`, ...rest].join(':');
}

function mapMounts(state: MapState, node: Node | undefined): void {
  if (!node) return;
  if (node.type !== 'array') return problem(state, node, `'mounts' must be an array`, 'mounts');
  for (const item of node.children ?? []) {
    let mount;
    if (item.type === 'string') mount = parseMountString(text(state, item, String(item.value)));
    else if (item.type === 'object') {
      const raw = getNodeValue(item) as Record<string, unknown>;
      mount = parseMountObject(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === 'string' ? text(state, item, v) : v])));
    } else {
      problem(state, item, 'each mount must be a "source=…,target=…,type=…" string or an object', 'mounts');
      continue;
    }
    const volume = mountToVolume(mount);
    if ('reason' in volume) {
      state.warnings.push(`${state.at(item)}: mount dropped: ${volume.reason}`);
      continue;
    }
    addVolume(state, volumeSpec(state, volume.volume), item);
  }
}

function addVolume(state: MapState, spec: string, from: Node): void {
  state.builder.push(TARGET.volumes, spec, from);
  const source = spec.split(':')[0]!;
  if (isAbsolute(source) && spec.includes(':')) {
    state.notes.push(`${state.at(from)}: bind source ${source} is a path on the remote host, not on this machine`);
  }
}

function portValue(spec: string): number | string {
  return /^\d+$/.test(spec) ? Number(spec) : spec;
}

function mapPorts(state: MapState, forward: Node | undefined, app: Node | undefined): void {
  if (forward?.type === 'array') {
    for (const item of forward.children ?? []) {
      const raw = scalarString(item);
      const port = raw === undefined ? undefined : /^(?:(?:localhost|127\.0\.0\.1):)?(\d+)$/.exec(raw);
      if (port && item.type !== 'boolean') state.builder.push(TARGET.ports, Number(port[1]), item);
      else state.warnings.push(`${state.at(item)}: forwardPorts entry ${JSON.stringify(getNodeValue(item))} dropped: only ports of the dev container itself can be forwarded`);
    }
  } else if (forward) problem(state, forward, `'forwardPorts' must be an array`, 'forwardPorts');
  if (app) {
    for (const item of app.type === 'array' ? (app.children ?? []) : [app]) {
      const value = item.type === 'number' || item.type === 'string' ? String(item.value) : undefined;
      if (value === undefined) problem(state, item, `'appPort' must be a port number or a "host:container" string`, 'appPort');
      else state.builder.push(TARGET.ports, portValue(value), item);
    }
  }
}

function mapEnv(state: MapState, node: Node | undefined, key: 'containerEnv' | 'remoteEnv'): void {
  if (!node) return;
  if (node.type !== 'object') return problem(state, node, `'${key}' must be an object of strings`, key);
  for (const entry of objectEntries(node)) {
    const nameProblem = envNameProblem(entry.key);
    if (nameProblem) {
      problem(state, entry.keyNode, `${key}: ${nameProblem}`, key);
      continue;
    }
    // In remoteEnv, null unsets a variable for attached processes: nothing to set.
    if (entry.value.type === 'null' && key === 'remoteEnv') continue;
    const value = scalarString(entry.value);
    if (value === undefined) {
      problem(state, entry.value, `${key}.${entry.key} must be a string`, `${key}.${entry.key}`);
      continue;
    }
    if (usesContainerEnv(value)) {
      state.warnings.push(`${state.at(entry.value)}: ${key}.${entry.key} uses \${containerEnv:…}, which mltoolbox cannot expand; dropped (set it with ENV in the Dockerfile instead)`);
      continue;
    }
    state.builder.set([...TARGET.env, entry.key], text(state, entry.value, value), entry.value);
  }
}

function mapUser(state: MapState, remote: Node | undefined, container: Node | undefined): void {
  // mltoolbox runs the container and its commands as one user; remoteUser is the one people work as.
  const chosen = remote ?? container;
  if (!chosen) return;
  const value = expectString(state, remote ? 'remoteUser' : 'containerUser', chosen);
  if (value !== undefined) state.builder.set(TARGET.user, text(state, chosen, value), chosen);
  if (remote && container && getNodeValue(remote) !== getNodeValue(container)) {
    state.warnings.push(`${state.at(container)}: containerUser ${JSON.stringify(getNodeValue(container))} differs from remoteUser; mltoolbox uses remoteUser for both`);
  }
}

/** string, argv array and object (named commands run in parallel) keep their form: the schema has all three. */
function mapLifecycle(state: MapState, key: (typeof LIFECYCLE_KEYS)[number], node: Node | undefined): void {
  if (!node) return;
  const command = lifecycleValue(state, key, node);
  if (command === undefined) return;
  state.builder.set(TARGET[key], command, node);
  const markItems = (path: KeyPath, list: Node) => (list.children ?? []).forEach((item, i) => state.builder.mark([...path, i], item));
  if (node.type === 'array') markItems(TARGET[key], node);
  for (const entry of objectEntries(node)) {
    state.builder.mark([...TARGET[key], entry.key], entry.value);
    if (entry.value.type === 'array') markItems([...TARGET[key], entry.key], entry.value);
  }
}

function lifecycleValue(state: MapState, key: string, node: Node): string | string[] | Record<string, string | string[]> | undefined {
  const argv = (list: Node): string[] | undefined => {
    const out: string[] = [];
    for (const item of list.children ?? []) {
      if (item.type !== 'string') return undefined;
      out.push(text(state, item, String(item.value)));
    }
    return out;
  };
  if (node.type === 'string') return text(state, node, String(node.value));
  if (node.type === 'array') {
    const list = argv(node);
    if (list) return list;
  }
  if (node.type === 'object') {
    const out: Record<string, string | string[]> = {};
    for (const entry of objectEntries(node)) {
      const value = entry.value.type === 'string' ? text(state, entry.value, String(entry.value.value)) : entry.value.type === 'array' ? argv(entry.value) : undefined;
      if (value === undefined) {
        problem(state, entry.value, `${key}.${entry.key} must be a string or an array of strings`, `${key}.${entry.key}`);
        return undefined;
      }
      out[entry.key] = value;
    }
    return out;
  }
  problem(state, node, `'${key}' must be a string, an array of strings, or an object of those`, key);
  return undefined;
}

/** hostRequirements.gpu says whether a GPU is needed; it overrides the "required" that --gpus implies. */
function mapHostRequirements(state: MapState, node: Node | undefined): void {
  if (!node) return;
  if (node.type !== 'object') return problem(state, node, `'hostRequirements' must be an object`, 'hostRequirements');
  for (const entry of objectEntries(node)) {
    if (entry.key !== 'gpu') {
      state.notes.push(`${state.at(entry.keyNode)}: hostRequirements.${entry.key} is not checked by mltoolbox`);
      continue;
    }
    const gpu = entry.value;
    if (gpu.type === 'boolean') {
      if (gpu.value === true) state.builder.set(TARGET.gpus, 'required', gpu);
    } else if (gpu.type === 'string' && gpu.value === 'optional') {
      state.builder.set(TARGET.gpus, 'optional', gpu);
    } else if (gpu.type === 'object') {
      state.builder.set(TARGET.gpus, 'required', gpu);
      state.notes.push(`${state.at(gpu)}: hostRequirements.gpu cores/memory are not checked; any GPU host is used`);
    } else {
      problem(state, gpu, `hostRequirements.gpu must be true, false, "optional" or an object`, 'hostRequirements.gpu');
    }
  }
}

/**
 * `features` keep their keys and options as written (so lockfile keys and
 * messages match devcontainer.json); a local `./folder` is re-expressed
 * relative to the project folder, like every other path in the layer.
 * Whether an option fits the feature is checked when the feature is fetched.
 */
function mapFeatures(state: MapState, node: Node | undefined, order: Node | undefined): void {
  // Features are fetched and built on this machine: a local folder need not be inside the synced project.
  const featureKey = (raw: string) => {
    if (!/^\.\.?(\/|$)/.test(raw)) return raw;
    const rel = relative(state.pathBase, resolve(dirname(state.file), raw)).split(sep).join('/');
    return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? rel : `./${rel}`;
  };
  if (node) {
    if (node.type !== 'object') problem(state, node, `'features' must be an object of feature references and their options`, 'features');
    else for (const entry of objectEntries(node)) {
      const key = featureKey(entry.key);
      const path = [...TARGET.features, key];
      const value = entry.value;
      if (value.type === 'boolean' && value.value === false) {
        state.notes.push(`${state.at(value)}: feature '${entry.key}' is set to false and is not installed`);
      } else if (value.type === 'string') {
        state.builder.set(path, text(state, value, String(value.value)), value);
      } else if (value.type === 'boolean') {
        state.builder.set(path, {}, value);
      } else if (value.type === 'object') {
        state.builder.set(path, {}, value);
        for (const option of objectEntries(value)) {
          const raw = getNodeValue(option.value) as unknown;
          state.builder.set([...path, option.key], typeof raw === 'string' ? text(state, option.value, raw) : raw, option.value);
        }
      } else {
        problem(state, value, `feature '${entry.key}' takes an object of options or a version string`, `features.${entry.key}`);
      }
    }
  }
  if (order) {
    if (order.type !== 'array' || (order.children ?? []).some((c) => c.type !== 'string')) {
      problem(state, order, `'overrideFeatureInstallOrder' must be an array of feature ids`, 'overrideFeatureInstallOrder');
      return;
    }
    for (const item of order.children ?? []) state.builder.push(TARGET.overrideFeatureInstallOrder, featureKey(String(item.value)), item);
  }
}
