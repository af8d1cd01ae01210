import { posix } from 'node:path';
import { parseDocument } from 'yaml';
import { UserError } from '../../core/errors.ts';
import { DEFAULT_BASE_IMAGE, DEFAULT_SYNC_EXCLUDES, defaultProjectName } from '../config/defaults.ts';
import { projectSlug } from '../config/devcontainer/import.ts';
import { parseDotenv } from '../config/dotenv.ts';
import { substituteCompose } from './compose-interpolate.ts';
import type { LegacyProject } from './legacy-project.ts';
import { defaultSecretName, isSecretName, secretReason, type SecretReason } from './secret-detect.ts';
import { PORT_MAPPING } from '../ports/port-spec.ts';

/**
 * Turns a v2 project (.env + docker-compose.yml + Dockerfile) into the
 * equivalent mltoolbox.yaml settings. Pure: the caller reads the files,
 * decides the secrets' store names and writes. Every compose key ends up in
 * exactly one of `mapped` or `notMapped` (with the reason), and every value
 * that looks like a secret becomes a `${secret:NAME}` reference.
 */
export interface MappedSetting {
  /** `.mlt/docker-compose.yml services.dev.network_mode`, `.env WANDB_PROJECT` */
  from: string;
  /** `environment.network_mode` */
  to: string;
}

export interface NotMappedSetting {
  from: string;
  reason: string;
}

export interface PlannedSecret {
  /** The variable (or build argument) the value was found in. */
  variable: string;
  /** Its name in the secret store. */
  name: string;
  value: string;
  reason: SecretReason | 'same value as a secret';
  /** Config keys that now hold `${secret:name}`. */
  keys: string[];
}

export interface MigrationPlan {
  layout: LegacyProject['layout'];
  /** The legacy files read, project-relative. */
  sources: string[];
  projectName: string;
  /** The mltoolbox.yaml content (secrets as references). */
  config: Record<string, unknown>;
  mapped: MappedSetting[];
  secrets: PlannedSecret[];
  notMapped: NotMappedSetting[];
  /** Things to tell the user that are neither (kept as comments in the file). */
  notes: string[];
}

export interface MapOptions {
  /** Store names chosen by the caller, by variable; default: the variable in lower case. */
  secretNames?: ReadonlyMap<string, string>;
}

/** Keys mltoolbox handles itself: not an error, not carried over. */
const HANDLED_BY_MLTOOLBOX: Readonly<Record<string, string>> = {
  container_name: 'mltoolbox names the container itself (from project.name)',
  image: 'mltoolbox tags the image it builds itself',
  stdin_open: 'not needed: mltoolbox opens the shell itself (connect, shell)',
  tty: 'not needed: mltoolbox opens the shell itself (connect, shell)',
  restart: 'no equivalent: mltoolbox starts the container on connect and keeps it until stop/down',
  command: 'mltoolbox runs its own keep-alive command; put start-up steps in environment.post_start_command',
  entrypoint: 'mltoolbox runs its own keep-alive command; put start-up steps in environment.post_start_command',
  init: 'mltoolbox always runs the container with an init process',
};

const RAY_CLIENT_PORT = 'HOST_RAY_CLIENT_PORT';

class Mapper {
  readonly mapped: MappedSetting[] = [];
  readonly notMapped: NotMappedSetting[] = [];
  readonly notes: string[] = [];
  readonly secrets = new Map<string, PlannedSecret>();
  readonly vars = new Map<string, string>();
  readonly emptySecrets = new Set<string>();
  readonly project: LegacyProject;
  readonly names: ReadonlyMap<string, string>;
  readonly composePath: string;
  serviceKey = '';

  constructor(project: LegacyProject, options: MapOptions) {
    this.project = project;
    this.names = options.secretNames ?? new Map();
    this.composePath = project.compose.path;
  }

  at(key: string): string {
    return `${this.composePath} ${this.serviceKey}${key ? `.${key}` : ''}`;
  }

  /** A compose string with ${…} resolved against the .env; missing variables are reported once per key. */
  substitute(raw: unknown, key: string): string | undefined {
    if (raw === null || raw === undefined) return undefined;
    const text = typeof raw === 'string' ? raw : String(raw);
    const result = substituteCompose(text, this.vars);
    for (const error of result.errors) this.notMapped.push({ from: this.at(key), reason: `compose would refuse this: ${error}` });
    if (result.missing.length > 0) {
      this.notes.push(`${this.at(key)} uses ${result.missing.map((n) => `\${${n}}`).join(', ')}, which the .env does not set (compose took ${result.missing.length > 1 ? 'them' : 'it'} from the shell on the GPU host, empty if unset)`);
    }
    return result.value;
  }

  /** The config value for a variable: a `${secret:…}` reference for secrets, else the literal (with `${` escaped). */
  value(variable: string, value: string, configKey: string): string {
    const reason = secretReason(variable, value);
    const known = [...this.secrets.values()].find((secret) => secret.value === value);
    if (known) {
      known.keys.push(configKey);
      return `\${secret:${known.name}}`;
    }
    // A value that merely contains a secret (a URL with a token in it) is a secret too.
    const contains = [...this.secrets.values()].some((secret) => secret.value.length >= 8 && value.includes(secret.value));
    if (reason || contains) {
      const name = this.addSecret(variable, value, reason ?? 'same value as a secret', configKey);
      return `\${secret:${name}}`;
    }
    if (value === '' && isSecretName(variable) && !this.emptySecrets.has(variable)) {
      this.emptySecrets.add(variable);
      const name = this.names.get(variable) ?? defaultSecretName(variable);
      this.notes.push(`${variable} is empty in the v2 files, so it stays empty; when you have a value: mltoolbox secret set ${name}, then ${variable}: \${secret:${name}}`);
    }
    return value.replaceAll('${', () => '$${');
  }

  private addSecret(variable: string, value: string, reason: PlannedSecret['reason'], configKey: string): string {
    // The same variable with another value (an env var and a build argument): a second secret.
    let key = variable;
    for (let n = 2; this.secrets.has(key); n++) key = `${variable}_${n}`;
    const name = this.names.get(key) ?? defaultSecretName(key);
    this.secrets.set(key, { variable: key, name, value, reason, keys: [configKey] });
    return name;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A path compose resolved against the compose file's folder, as a project-relative POSIX path ('.' is the project). */
function projectRelative(project: LegacyProject, path: string): string | undefined {
  if (posix.isAbsolute(path)) return undefined;
  const joined = posix.normalize(posix.join(project.composeDir, path));
  if (joined === '..' || joined.startsWith('../')) return undefined;
  return joined.replace(/\/$/, '') || '.';
}

function parseCompose(project: LegacyProject): Record<string, unknown> {
  const document = parseDocument(project.compose.text, { merge: true, prettyErrors: true });
  const error = document.errors[0];
  if (error) {
    const where = error.linePos?.[0] ? `:${error.linePos[0].line}:${error.linePos[0].col}` : '';
    throw new UserError('MIGRATE_LEGACY_INVALID', `${project.compose.path}${where}: ${error.message.split('\n')[0]}`,
      `fix the YAML (docker compose -f ${project.compose.path} config shows the same problem), then run mltoolbox migrate again`,
      { data: { file: project.compose.path } });
  }
  const value: unknown = document.toJS({ maxAliasCount: 1000 });
  if (!isRecord(value) || !isRecord(value.services) || Object.keys(value.services).length === 0) {
    throw new UserError('MIGRATE_LEGACY_INVALID', `${project.compose.path} has no services`,
      'a v2 project has one service in its docker-compose.yml; check that this is the file mltoolbox v2 wrote');
  }
  return value;
}

export function mapLegacyProject(project: LegacyProject, options: MapOptions = {}): MigrationPlan {
  const m = new Mapper(project, options);
  const sources = [project.env?.path, project.compose.path, project.dockerfile?.path].filter((p): p is string => p !== undefined);

  if (project.env) {
    const parsed = parseDotenv(project.env.text);
    for (const error of parsed.errors) m.notMapped.push({ from: `${project.env.path}:${error.line}`, reason: `not read: ${error.message}` });
    for (const entry of parsed.entries) m.vars.set(entry.name, entry.value);
  }

  const compose = parseCompose(project);
  const services = compose.services as Record<string, unknown>;
  const [serviceName, ...others] = Object.keys(services);
  for (const other of others) m.notMapped.push({ from: `${project.compose.path} services.${other}`, reason: 'mltoolbox runs one dev container per project; only the first service is migrated' });
  m.serviceKey = `services.${serviceName}`;
  const service = isRecord(services[serviceName!]) ? (services[serviceName!] as Record<string, unknown>) : {};

  const rawName = m.vars.get('PROJECT_NAME') ?? '';
  const projectName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(rawName) ? rawName : projectSlug(rawName) || defaultProjectName(project.projectDir);
  if (rawName) m.mapped.push({ from: `${project.env!.path} PROJECT_NAME`, to: 'project.name' });

  const environment: Record<string, unknown> = {};
  const projectSection: Record<string, unknown> = { name: projectName };
  const handled = new Set<string>();
  const take = (key: string) => {
    handled.add(key);
    return service[key];
  };

  // The container's variables first: a build argument holding the same secret then reuses its name.
  const env = mapEnvironment(m, project, take('env_file'), take('environment'));
  mapImage(m, project, take('build'), take('image'), environment);
  const mountTarget = mapVolumes(m, project, take('volumes'), environment);
  mapWorkdir(m, take('working_dir'), mountTarget, projectSection);
  mapNetwork(m, take('network_mode'), take('ports'), environment);
  mapGpus(m, take('deploy'), take('runtime'), take('gpus'), environment);
  for (const key of ['shm_size', 'user'] as const) {
    const value = m.substitute(take(key), key);
    if (value === undefined || value === '') continue;
    environment[key] = key === 'shm_size' ? value.toLowerCase() : value;
    m.mapped.push({ from: m.at(key), to: `environment.${key}` });
  }
  if (Object.keys(env).length > 0) environment.env = env;

  for (const key of Object.keys(service)) {
    if (handled.has(key)) continue;
    m.notMapped.push({ from: m.at(key), reason: HANDLED_BY_MLTOOLBOX[key] ?? 'no mltoolbox equivalent' });
  }

  const config: Record<string, unknown> = { version: 1, project: projectSection, environment: orderEnvironment(environment) };
  if (project.env && m.secrets.size > 0) {
    // The legacy .env stays untouched, secrets and all: keep it off the GPU host.
    // (A project's sync.exclude replaces the defaults, so they are listed too.)
    config.sync = { exclude: [...DEFAULT_SYNC_EXCLUDES, `/${project.env.path}`] };
    m.notes.push(`${project.env.path} still holds ${m.secrets.size} secret value(s); it is excluded from sync (sync.exclude) — delete it once you no longer need v2`);
  }
  const rayPort = m.vars.get(RAY_CLIENT_PORT);
  if (rayPort !== undefined && rayPort !== '') {
    // v2 wrote HOST_RAY_CLIENT_PORT when the project was set up with Ray (`init --ray`).
    config.plugins = ['ray'];
    config.ray = { enabled: true };
    m.mapped.push({ from: `${project.env?.path ?? '.env'} ${RAY_CLIENT_PORT}`, to: 'plugins: [ray], ray.enabled' });
    m.notes.push(`v2 published the Ray client on port ${rayPort} (${RAY_CLIENT_PORT}, still set in environment.env); to reach it from this machine: mltoolbox connect -p ${rayPort}:${rayPort}`);
  }

  return {
    layout: project.layout,
    sources,
    projectName,
    config,
    mapped: m.mapped,
    secrets: [...m.secrets.values()],
    notMapped: m.notMapped,
    notes: m.notes,
  };
}

/** The keys in the order a person would write them. */
function orderEnvironment(environment: Record<string, unknown>): Record<string, unknown> {
  const order = ['base_image', 'dockerfile', 'env', 'volumes', 'ports', 'network_mode', 'gpus', 'gpu_count', 'shm_size', 'user'];
  const out: Record<string, unknown> = {};
  for (const key of order) if (environment[key] !== undefined) out[key] = environment[key];
  for (const [key, value] of Object.entries(environment)) if (!(key in out)) out[key] = value;
  return out;
}

function mapImage(m: Mapper, project: LegacyProject, build: unknown, image: unknown, environment: Record<string, unknown>): void {
  if (build === undefined || build === null) {
    const reference = m.substitute(image, 'image');
    if (reference) {
      environment.base_image = reference;
      m.mapped.push({ from: m.at('image'), to: 'environment.base_image' });
    } else {
      environment.base_image = DEFAULT_BASE_IMAGE;
      m.notes.push(`${m.at('')} has neither build nor image: using mltoolbox's default image`);
    }
    return;
  }
  if (image !== undefined) m.notMapped.push({ from: m.at('image'), reason: HANDLED_BY_MLTOOLBOX.image! });
  const spec = isRecord(build) ? build : { context: build };
  const context = m.substitute(spec.context ?? '.', 'build.context') ?? '.';
  const contextPath = projectRelative(project, context);
  const dockerfileRaw = m.substitute(spec.dockerfile ?? 'Dockerfile', 'build.dockerfile') ?? 'Dockerfile';
  if (contextPath === undefined) {
    m.notMapped.push({ from: m.at('build.context'), reason: `the build context '${context}' is outside the project folder, which is all mltoolbox sends to the host` });
    environment.base_image = DEFAULT_BASE_IMAGE;
    m.notes.push('no image could be migrated: using mltoolbox\'s default image; set environment.dockerfile or base_image yourself');
    return;
  }
  const dockerfilePath = posix.isAbsolute(dockerfileRaw) ? undefined : posix.normalize(posix.join(contextPath, dockerfileRaw));
  if (dockerfilePath === undefined || dockerfilePath.startsWith('../')) {
    m.notMapped.push({ from: m.at('build.dockerfile'), reason: `the Dockerfile '${dockerfileRaw}' is outside the project folder` });
    environment.base_image = DEFAULT_BASE_IMAGE;
    return;
  }
  const dockerfile: Record<string, unknown> = { path: dockerfilePath, context: contextPath };
  m.mapped.push({ from: m.at('build'), to: 'environment.dockerfile' });

  const args = mapBuildArgs(m, spec.args);
  if (Object.keys(args).length > 0) dockerfile.args = args;
  const target = m.substitute(spec.target, 'build.target');
  if (target) dockerfile.target = target;
  for (const key of Object.keys(spec)) {
    if (!['context', 'dockerfile', 'args', 'target'].includes(key)) m.notMapped.push({ from: m.at(`build.${key}`), reason: 'no mltoolbox equivalent' });
  }
  environment.dockerfile = dockerfile;
  if (project.dockerfile && project.dockerfile.path !== dockerfilePath) {
    m.notes.push(`${m.at('build')} builds ${dockerfilePath}, not ${project.dockerfile.path}`);
  }
}

function mapBuildArgs(m: Mapper, raw: unknown): Record<string, string> {
  const args: Record<string, string> = {};
  const add = (name: string, value: string | undefined) => {
    if (value === undefined) {
      m.notMapped.push({ from: m.at(`build.args.${name}`), reason: 'takes its value from the shell on the GPU host, and the .env does not set it' });
      return;
    }
    if (secretReason(name, value) !== undefined) {
      // The loader refuses ${secret:…} in build args: they are stored in the image history.
      m.notMapped.push({ from: m.at(`build.args.${name}`), reason: 'a secret as a build argument would be stored in the image history; read it at run time from environment.env instead' });
      return;
    }
    args[name] = m.value(name, value, `environment.dockerfile.args.${name}`);
  };
  if (Array.isArray(raw)) {
    for (const item of raw) {
      const text = String(item);
      const eq = text.indexOf('=');
      if (eq < 0) add(text, m.vars.get(text));
      else add(text.slice(0, eq), m.substitute(text.slice(eq + 1), `build.args.${text.slice(0, eq)}`));
    }
  } else if (isRecord(raw)) {
    for (const [name, value] of Object.entries(raw)) {
      add(name, value === null ? m.vars.get(name) : m.substitute(value, `build.args.${name}`));
    }
  }
  return args;
}

function mapEnvironment(m: Mapper, project: LegacyProject, envFile: unknown, environment: unknown): Record<string, string> {
  const env: Record<string, string> = {};
  const files = envFile === undefined || envFile === null ? [] : Array.isArray(envFile) ? envFile : [envFile];
  for (const file of files) {
    const raw = isRecord(file) ? file.path : file;
    const path = m.substitute(raw, 'env_file');
    const relative = path === undefined ? undefined : projectRelative(project, path);
    if (relative === '.env' && project.env) {
      for (const [name, value] of m.vars) {
        env[name] = m.value(name, value, `environment.env.${name}`);
        // Secrets are listed with the secrets, not here.
        if (!env[name].startsWith('${secret:')) m.mapped.push({ from: `${project.env.path} ${name}`, to: `environment.env.${name}` });
      }
    } else {
      m.notMapped.push({
        from: `${m.at('env_file')} (${path ?? String(raw)})`,
        reason: relative === '.env' ? 'the project has no .env' : 'only the project\'s .env is migrated; add these variables to environment.env (secrets: mltoolbox secret set NAME, then ${secret:NAME})',
      });
    }
  }
  const entries: Array<[string, unknown]> = Array.isArray(environment)
    ? environment.map((item) => {
      const text = String(item);
      const eq = text.indexOf('=');
      return eq < 0 ? [text, null] : [text.slice(0, eq), text.slice(eq + 1)];
    })
    : isRecord(environment) ? Object.entries(environment) : [];
  for (const [name, raw] of entries) {
    const value = raw === null ? m.vars.get(name) : m.substitute(raw, `environment.${name}`);
    if (value === undefined) {
      m.notMapped.push({ from: m.at(`environment.${name}`), reason: 'takes its value from the shell on the GPU host, and the .env does not set it' });
      continue;
    }
    delete env[name];
    env[name] = m.value(name, value, `environment.env.${name}`);
    if (!env[name].startsWith('${secret:')) m.mapped.push({ from: m.at(`environment.${name}`), to: `environment.env.${name}` });
  }
  return env;
}

/** Maps the volumes; returns where the project folder was mounted, if it was. */
function mapVolumes(m: Mapper, project: LegacyProject, raw: unknown, environment: Record<string, unknown>): string | undefined {
  if (!Array.isArray(raw)) return undefined;
  const volumes: string[] = [];
  let projectMount: string | undefined;
  for (const [index, item] of raw.entries()) {
    const key = `volumes[${index}]`;
    const volume = composeVolume(m, key, item);
    const placed = volume && placeVolume(m, project, key, volume);
    if (!placed) continue;
    if (placed.projectMount) {
      projectMount = placed.projectMount;
      m.mapped.push({ from: `${m.at(key)} (${volume.shown})`, to: 'project.workdir (mltoolbox mounts the project folder there itself)' });
    } else {
      volumes.push(placed.volume!);
      m.mapped.push({ from: `${m.at(key)} (${volume.shown})`, to: 'environment.volumes' });
    }
  }
  if (volumes.length > 0) environment.volumes = volumes;
  return projectMount;
}

interface ComposeVolume {
  source: string | undefined;
  target: string;
  readOnly: boolean;
  /** As the compose file wrote it (after substitution), for the report. */
  shown: string;
}

/** One compose volume (short `SRC:DST[:ro]` or long form), or undefined (reported as not mapped). */
function composeVolume(m: Mapper, key: string, item: unknown): ComposeVolume | undefined {
  const rawSource = isRecord(item) ? item.source : item;
  const fromShell = typeof rawSource === 'string' ? substituteCompose(rawSource, m.vars).missing : [];
  if (fromShell.length > 0) {
    m.notMapped.push({
      from: `${m.at(key)} (${isRecord(item) ? `${String(item.source)}:${String(item.target)}` : String(item)})`,
      reason: `uses ${fromShell.map((n) => `\${${n}}`).join(', ')} from the shell on the GPU host; mltoolbox needs an absolute host path — add it to mltoolbox.local.yaml under environment.volumes`,
    });
    return undefined;
  }
  const volume = isRecord(item) ? longVolume(m, key, item) : shortVolume(m.substitute(item, key) ?? '');
  if (!volume) return undefined;
  if (!volume.target?.startsWith('/')) {
    m.notMapped.push({ from: `${m.at(key)} (${volume.shown})`, reason: 'expected SOURCE:TARGET with an absolute TARGET' });
    return undefined;
  }
  return volume as ComposeVolume;
}

function longVolume(m: Mapper, key: string, item: Record<string, unknown>): Partial<ComposeVolume> & { shown: string } | undefined {
  const source = m.substitute(item.source, `${key}.source`);
  const target = m.substitute(item.target, `${key}.target`);
  if (item.type !== undefined && !['bind', 'volume'].includes(String(item.type))) {
    m.notMapped.push({ from: `${m.at(key)} (${String(item.type)} ${target ?? ''})`, reason: `${String(item.type)} mounts have no mltoolbox equivalent` });
    return undefined;
  }
  return { source, target, readOnly: item.read_only === true, shown: `${source ?? ''}:${target ?? ''}` };
}

function shortVolume(shown: string): Partial<ComposeVolume> & { shown: string } {
  const parts = shown.split(':');
  if (parts.length === 1) return { source: undefined, target: parts[0], readOnly: false, shown };
  return { source: parts[0], target: parts[1], readOnly: parts.slice(2).some((mode) => mode.split(',').includes('ro')), shown };
}

/**
 * Where a volume goes in mltoolbox.yaml: an environment.volumes entry, or, for
 * the project folder itself, the project mount; undefined when it cannot be
 * mapped (reported).
 */
function placeVolume(m: Mapper, project: LegacyProject, key: string, volume: ComposeVolume): { volume?: string; projectMount?: string } | undefined {
  const { source, target, shown } = volume;
  const suffix = volume.readOnly ? ':ro' : '';
  if (source === undefined || source === '') return { volume: `${target}${suffix}` };
  if (source.startsWith('~') || source.startsWith('$')) {
    m.notMapped.push({
      from: `${m.at(key)} (${shown})`,
      reason: `'${source}' is relative to your home folder on the GPU host; mltoolbox needs an absolute host path — add it to mltoolbox.local.yaml, e.g. environment.volumes: ["/home/you/${source.replace(/^~\/?/, '')}:${target}${suffix}"]`,
    });
    return undefined;
  }
  if (!source.startsWith('.')) return { volume: `${source}:${target}${suffix}` }; // an absolute path, or a named volume
  const relative = projectRelative(project, source);
  if (relative === '.') return { projectMount: target };
  if (relative === undefined) {
    m.notMapped.push({ from: `${m.at(key)} (${shown})`, reason: `'${source}' is outside the project folder; use an absolute path on the GPU host` });
    return undefined;
  }
  return { volume: `./${relative}:${target}${suffix}` };
}

function mapWorkdir(m: Mapper, workingDir: unknown, mountTarget: string | undefined, projectSection: Record<string, unknown>): void {
  const dir = m.substitute(workingDir, 'working_dir');
  const workdir = mountTarget ?? (dir && dir.startsWith('/') ? dir : undefined);
  if (workdir) projectSection.workdir = workdir.replace(/(.)\/+$/, '$1');
  if (dir === undefined) return;
  if (!dir.startsWith('/')) {
    m.notMapped.push({ from: m.at('working_dir'), reason: `'${dir}' is not an absolute path` });
  } else if (workdir !== undefined && posix.normalize(dir).replace(/(.)\/+$/, '$1') !== projectSection.workdir) {
    m.notMapped.push({ from: m.at('working_dir'), reason: `mltoolbox starts in the project folder (${workdir}), not in ${dir}` });
  } else {
    m.mapped.push({ from: m.at('working_dir'), to: 'project.workdir' });
  }
}


function mapNetwork(m: Mapper, networkMode: unknown, ports: unknown, environment: Record<string, unknown>): void {
  const mode = m.substitute(networkMode, 'network_mode');
  if (mode) {
    environment.network_mode = mode;
    m.mapped.push({ from: m.at('network_mode'), to: 'environment.network_mode' });
  }
  if (!Array.isArray(ports) || ports.length === 0) return;
  const mapped: Array<string | number> = [];
  for (const [index, item] of ports.entries()) {
    const key = `ports[${index}]`;
    const text = isRecord(item)
      ? `${item.published !== undefined ? `${m.substitute(item.published, `${key}.published`)}:` : ''}${m.substitute(item.target, `${key}.target`)}${item.protocol ? `/${String(item.protocol)}` : ''}`
      : m.substitute(item, key) ?? '';
    if (!PORT_MAPPING.test(text)) {
      m.notMapped.push({ from: `${m.at(key)} (${text})`, reason: 'not a port or HOST:CONTAINER mapping mltoolbox understands (port ranges are not supported)' });
      continue;
    }
    mapped.push(/^\d+$/.test(text) ? Number(text) : text);
    m.mapped.push({ from: `${m.at(key)} (${text})`, to: 'environment.ports' });
  }
  if (mapped.length > 0) environment.ports = mapped;
  if (mode === 'host') m.notes.push('with network_mode: host the container shares the host\'s ports; environment.ports are forwarded to this machine over SSH');
}

/** A GPU request and where it came from. */
interface GpuRequest {
  count: number | 'all';
  from: string;
}

function mapGpus(m: Mapper, deploy: unknown, runtime: unknown, gpus: unknown, environment: Record<string, unknown>): void {
  const fromDeploy = gpusFromDeploy(m, deploy);
  const fromRuntime = gpusFromRuntime(m, runtime); // reports another runtime as not mapped, whatever deploy asked
  const request = fromDeploy ?? fromRuntime ?? gpusFromFlag(m, gpus);
  if (request === undefined) return;
  environment.gpus = 'required';
  environment.gpu_count = request.count;
  m.mapped.push({ from: request.from, to: 'environment.gpus, environment.gpu_count' });
  m.notes.push('v2 refused to start without GPUs, so environment.gpus is required; set it to optional (e.g. in mltoolbox.local.yaml) to start without them');
}

/** Compose `deploy.resources.reservations.devices` GPU entries (the last one wins); everything else under deploy is reported as not mapped. */
function gpusFromDeploy(m: Mapper, deploy: unknown): GpuRequest | undefined {
  if (!isRecord(deploy)) return undefined;
  const resources = isRecord(deploy.resources) ? deploy.resources : undefined;
  const devices = isRecord(resources?.reservations) ? resources.reservations.devices : undefined;
  let request: GpuRequest | undefined;
  if (Array.isArray(devices)) {
    for (const [index, device] of devices.entries()) request = gpuDevice(m, device, `deploy.resources.reservations.devices[${index}]`) ?? request;
  }
  for (const key of Object.keys(deploy).filter((k) => k !== 'resources')) m.notMapped.push({ from: m.at(`deploy.${key}`), reason: 'no mltoolbox equivalent' });
  for (const key of Object.keys(resources ?? {}).filter((k) => k !== 'reservations')) {
    m.notMapped.push({ from: m.at(`deploy.resources.${key}`), reason: 'resource limits have no mltoolbox equivalent' });
  }
  return request;
}

function gpuDevice(m: Mapper, device: unknown, key: string): GpuRequest | undefined {
  if (!isRecord(device)) return undefined;
  const capabilities = Array.isArray(device.capabilities) ? device.capabilities.map(String) : [];
  if (!capabilities.includes('gpu') && device.driver !== 'nvidia') {
    m.notMapped.push({ from: m.at(key), reason: 'only GPU reservations have an mltoolbox equivalent' });
    return undefined;
  }
  const from = m.at(key);
  if (device.device_ids !== undefined) {
    m.notMapped.push({ from: `${from}.device_ids`, reason: 'mltoolbox requests a number of GPUs, not specific ones; set CUDA_VISIBLE_DEVICES in environment.env to pick them' });
  }
  const raw = device.count === undefined ? 'all' : m.substitute(device.count, `${key}.count`);
  return { count: raw === 'all' || raw === '-1' || !/^\d+$/.test(raw ?? '') ? 'all' : Number(raw), from };
}

/** `runtime: nvidia` asks for every GPU; another runtime has no equivalent. */
function gpusFromRuntime(m: Mapper, runtime: unknown): GpuRequest | undefined {
  if (runtime === 'nvidia') return { count: 'all', from: m.at('runtime') };
  if (runtime !== undefined) m.notMapped.push({ from: m.at('runtime'), reason: 'no mltoolbox equivalent' });
  return undefined;
}

function gpusFromFlag(m: Mapper, gpus: unknown): GpuRequest | undefined {
  if (gpus === undefined) return undefined;
  return { count: gpus === 'all' || !/^\d+$/.test(String(gpus)) ? 'all' : Number(gpus), from: m.at('gpus') };
}
