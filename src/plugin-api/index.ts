/**
 * The public plugin API of mltoolbox: `import type { Plugin } from "mltoolbox/plugin"`.
 *
 * Everything here is a versioned contract (PLUGIN_API_VERSION). A change that
 * breaks a plugin written against it bumps the major version; adding an
 * optional field or a new hook bumps the minor version. Types only, plus two
 * tiny runtime helpers (definePlugin, pluginError) and the hook kind table, so
 * a plugin never needs mltoolbox at run time.
 *
 * See docs/plugin-development.md for the hook table and a complete example.
 */

/** `MAJOR.MINOR`. Plugins declare the version they target in `apiVersion`. */
export const PLUGIN_API_VERSION = '1.2';

// ---------------------------------------------------------------------------
// Config schemas: Standard Schema (zod 4, valibot, arktype…) or JSON Schema
// ---------------------------------------------------------------------------

/**
 * The Standard Schema interface (https://standardschema.dev). Any zod 4,
 * valibot or arktype schema implements it, so an external plugin passes a
 * schema built with its own copy of zod. When the schema also implements
 * Standard JSON Schema (`~standard.jsonSchema`, as zod 4.2+ does) its JSON
 * Schema appears in `mltoolbox config schema`.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
    readonly jsonSchema?: {
      readonly input: (options: { readonly target: string }) => Record<string, unknown>;
    };
  };
}

export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly StandardIssue[] };

export interface StandardIssue {
  readonly message: string;
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/**
 * A plain JSON Schema object (draft 2020-12 subset: type, properties,
 * required, additionalProperties, items, enum, const, minimum, maximum,
 * minLength, maxLength, pattern, anyOf, description, default), for plugins
 * that want no schema library at all.
 */
export interface JsonSchemaObject {
  readonly type?: string | readonly string[];
  readonly [keyword: string]: unknown;
}

export type PluginSchema<Output = unknown> = StandardSchemaV1<unknown, Output> | JsonSchemaObject;

/** What a plugin's `config` schema validates to. */
export type InferSection<S> = S extends StandardSchemaV1<unknown, infer O> ? O : Record<string, unknown>;

export interface PluginConfigSpec<Schema extends PluginSchema = PluginSchema> {
  /**
   * The top-level key of the plugin's section in mltoolbox.yaml.
   * Default: the plugin's name with `-` replaced by `_` (`gpu-metrics` → `gpu_metrics`).
   */
  key?: string;
  /** Validates the section (with the rest of the config: positions, all problems at once). */
  schema: Schema;
}

// ---------------------------------------------------------------------------
// Hooks
// ---------------------------------------------------------------------------

/**
 * How a hook runs across plugins (as in Rollup's plugin driver):
 * - sequential: one after another, in order; return values ignored.
 * - parallel: all at once; return values ignored.
 * - first: one after another until one returns something other than undefined.
 * - reduce: one after another, each receives the previous one's result.
 * - collect: one after another; the lists they return are joined, in order (API 1.2).
 */
export type HookKind = 'sequential' | 'parallel' | 'first' | 'reduce' | 'collect';

/** `pre` runs before plugins without an order, `post` after; otherwise list order. */
export type HookOrder = 'pre' | 'post';

/** The resolved configuration, read-only. Its shape is mltoolbox.yaml's (see `mltoolbox config schema`). */
export type ConfigView = Readonly<Record<string, unknown>>;

export interface SyncInfo {
  /** The target name (`gpu-box`, a saved remote or an ssh alias). */
  target: string;
  localDir: string;
  /** The project's folder on the host. */
  remoteDir: string;
  dryRun: boolean;
}

export interface SyncResultInfo {
  filesTransferred: number;
  bytes: number;
  deleted: number;
  durationMs: number;
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  /** What connect did to get it running. */
  action: 'reused' | 'created' | 'recreated' | 'started';
  /** Container ports published on the engine's host (127.0.0.1:host). */
  ports: readonly { container: number; host: number }[];
  /** The project's folder inside the container. */
  workdir: string;
}

export interface InstanceInfo {
  /** The provisioning backend, e.g. `lambda`. */
  provider: string;
  id: string;
  host: string;
  user?: string;
  port?: number;
  instanceType?: string;
  region?: string;
}

export interface FetchInfo {
  /** The target name the files came from. */
  target: string;
  /** The paths asked for, relative to the project folder on the host. */
  paths: readonly string[];
  /** Where they landed on this machine. */
  localDir: string;
  /** The project's folder on the host. */
  remoteDir: string;
}

export interface ForwardInfo {
  local: number;
  container: number;
}

/** Payload and result of each hook. */
export interface HookPayloads {
  /** After the configuration is loaded and validated. Return a changed copy to adjust it. */
  configLoaded: { config: ConfigView };
  beforeSync: { sync: SyncInfo };
  afterSync: { sync: SyncInfo; result: SyncResultInfo };
  /** After `fetch` brought files back from the host (API 1.1). */
  afterFetch: { fetch: FetchInfo; result: SyncResultInfo };
  /** The dev container runs (created, started or reused) and its lifecycle commands ran. */
  containerStart: { container: ContainerInfo; config: ConfigView };
  /** Before the container is stopped (`stop`) or removed (`down`). */
  containerStop: { container: { id: string; name: string }; action: 'stop' | 'remove' };
  /** A cloud instance is ready (a provisioning backend calls this). */
  provisionComplete: { instance: InstanceInfo };
  /** connect finished: the container runs and ports are forwarded. */
  connectComplete: { target: string; project: string; container: ContainerInfo; forwards: readonly ForwardInfo[] };
  /** At the end of every command that ran hooks, also after a failure. */
  shutdown: { command: string; ok: boolean; error?: { code?: string; message: string } };
  /**
   * A target name that is neither a saved remote nor an ssh alias: the first
   * plugin to return an SSH address wins (a provisioning backend resolves its
   * instance names here).
   */
  resolveHost: { name: string };
  /** Something the user asked to be told about, e.g. `search --watch` found a GPU (API 1.2). */
  notify: { event: 'gpu_available'; message: string };
  /**
   * connect without worker targets on its command line: further targets that
   * get the project and a worker container, as workers of `head` (API 1.2).
   * Every plugin's list is used (the Ray plugin returns `ray.workers`).
   */
  workerTargets: { head: string };
}

export interface ResolvedHostInfo {
  host: string;
  user?: string;
  port?: number;
  identityFile?: string;
}

/** What each hook's handler returns (undefined = no opinion / unchanged). */
export interface HookResults {
  configLoaded: ConfigView | undefined;
  beforeSync: void;
  afterSync: void;
  afterFetch: void;
  containerStart: void;
  containerStop: void;
  provisionComplete: void;
  connectComplete: void;
  shutdown: void;
  resolveHost: ResolvedHostInfo | undefined;
  notify: void;
  workerTargets: readonly string[] | undefined;
}

export type HookName = keyof HookPayloads;

/** Each hook's kind: part of the contract, checked by the host's typed runners. */
export const HOOK_KINDS = {
  configLoaded: 'reduce',
  beforeSync: 'sequential',
  afterSync: 'parallel',
  afterFetch: 'parallel',
  containerStart: 'sequential',
  containerStop: 'sequential',
  provisionComplete: 'parallel',
  connectComplete: 'parallel',
  shutdown: 'parallel',
  resolveHost: 'first',
  notify: 'parallel',
  workerTargets: 'collect',
} as const satisfies Record<HookName, HookKind>;

export type HooksOfKind<K extends HookKind> = { [H in HookName]: (typeof HOOK_KINDS)[H] extends K ? H : never }[HookName];

export type HookHandler<H extends HookName, Section = any, Options = any> = (
  payload: HookPayloads[H],
  context: PluginContext<Section, Options>,
) => HookResults[H] | Promise<HookResults[H]>;

export interface HookObject<H extends HookName, Section = any, Options = any> {
  handler: HookHandler<H, Section, Options>;
  order?: HookOrder;
  /** This hook's time limit (default: the plugin entry's timeout_ms, else 30 s). */
  timeoutMs?: number;
}

export type PluginHooks<Section = any, Options = any> = {
  [H in HookName]?: HookHandler<H, Section, Options> | HookObject<H, Section, Options>;
};

// ---------------------------------------------------------------------------
// The context every hook and command receives (never globals)
// ---------------------------------------------------------------------------

/** Progress and messages, to stderr, prefixed with the plugin's name. */
export interface PluginLogger {
  info(message: string): void;
  warn(message: string): void;
  success(message: string): void;
  /** Shown with --verbose only. Never pass a secret. */
  debug(message: string): void;
  task<T>(title: string, work: (task: { update(detail: string): void }) => Promise<T>): Promise<T>;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ContainerExecOptions {
  env?: Record<string, string>;
  user?: string;
  /** Default: the project's workdir. */
  workdir?: string;
  stdin?: string;
}

/** The project's dev container. */
export interface PluginContainer {
  id: string;
  name: string;
  /** Runs argv in the container (no shell: pass ['sh', '-c', script] for one). */
  exec(argv: readonly string[], options?: ContainerExecOptions): Promise<ExecResult>;
}

/** The GPU host over the shared SSH connection. Absent for the `local` target. */
export interface PluginHost {
  /** The target name. */
  name: string;
  /** Runs argv on the host; every word is quoted. */
  exec(argv: readonly string[], options?: { input?: string }): Promise<ExecResult>;
  /** Runs a POSIX sh script on the host ($1… = args). */
  execScript(script: string, options?: { args?: readonly string[]; input?: string }): Promise<ExecResult>;
}

export interface PortForward {
  localPort: number;
  containerPort: number;
  /** Stops forwarding. Forwards also end with the SSH connection. */
  close(): Promise<void>;
}

export interface PortForwarder {
  /** Makes a container port reachable on 127.0.0.1 here. localPort: 0/absent = a free port. */
  forward(containerPort: number, options?: { localPort?: number }): Promise<PortForward>;
}

export interface ProjectInfo {
  name: string;
  /** The local project folder. */
  localDir: string;
  /** The folder inside the container. */
  workdir: string;
  /** The target name (`local` or a host), once known. */
  target?: string;
  /** The project's folder on the host, for remote targets. */
  remoteDir?: string;
  /**
   * During `connect`: `head` for the first target, `worker` for each further
   * one (`connect HEAD WORKER...`, or a plugin's `workerTargets`, e.g. `ray.workers`). Absent in other commands (API 1.1).
   */
  role?: 'head' | 'worker';
}

/** The targets of a multi-host `connect` (API 1.1). */
export interface ClusterInfo {
  head: {
    /** The head's target name, as typed. */
    target: string;
    /** The head host's address as ssh resolves it (its HostName), for workers to join. */
    address: string;
  };
  /** The worker target names, in order. */
  workers: readonly string[];
}

export interface PluginContext<Section = any, Options = any> {
  plugin: { name: string; version: string };
  /** The plugin API version of the running mltoolbox (`1.1`). */
  apiVersion: string;
  logger: PluginLogger;
  config: {
    /** The whole resolved configuration (read-only; secrets are resolved values — never log them). */
    project: ConfigView;
    /** The plugin's own validated section, if the config has one. */
    section: Readonly<Section> | undefined;
    /** `options:` from the plugin's entry in `plugins:`. */
    options: Readonly<Options>;
  };
  /** The user's secrets (`mltoolbox secret set NAME`), read-only. Undefined when not set. */
  secrets: { get(name: string): Promise<string | undefined> };
  /** The local environment, read-only. */
  env: Readonly<Record<string, string | undefined>>;
  project: ProjectInfo;
  /** Present during a `connect` with worker targets, in the head's and each worker's hooks (API 1.1). */
  cluster?: ClusterInfo;
  /** Present once the dev container exists (containerStart, connectComplete, containerStop, …). */
  container?: PluginContainer;
  /** Present for remote targets once connected. */
  host?: PluginHost;
  /** Present where container ports can be forwarded (containerStart, connectComplete). */
  ports?: PortForwarder;
  /** Aborted when the hook's time limit passes: stop work and return. */
  signal: AbortSignal;
}

// ---------------------------------------------------------------------------
// Commands a plugin adds: `mltoolbox <plugin command> …`
// ---------------------------------------------------------------------------

export interface PluginCommandInput {
  args: Readonly<Record<string, string | string[] | undefined>>;
  options: Readonly<Record<string, string | boolean | string[] | undefined>>;
  rest: readonly string[];
}

export interface PluginCommandResult {
  /** The `--json` payload. */
  result?: unknown;
  /** Text for stdout (without --json). */
  human?: string;
  exitCode?: number;
}

export interface PluginCommand<Section = any, Options = any> {
  /** One or two words, e.g. `ray dashboard`. Must not shadow a built-in command. */
  name: string;
  summary: string;
  description?: string;
  args?: readonly { name: string; description: string; required?: boolean; variadic?: boolean }[];
  options?: Readonly<Record<string, { type: 'string' | 'boolean'; description: string; short?: string; multiple?: boolean }>>;
  examples?: readonly string[];
  run(input: PluginCommandInput, context: PluginContext<Section, Options>): Promise<PluginCommandResult | void> | PluginCommandResult | void;
}

// ---------------------------------------------------------------------------
// Provisioning backends: the seam every GPU cloud implements (API 1.2)
// ---------------------------------------------------------------------------

/** Where a provisioned host runs the dev container. */
export type InstanceShape =
  /** A VM: connect builds and runs the dev container with Docker on it (Lambda, Shadeform). */
  | 'vm'
  /** The instance is itself the container: connect skips Docker and works in it over SSH (RunPod). */
  | 'container';

/** Provider states mapped onto one lifecycle. */
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'terminating' | 'terminated' | 'error';

export interface OfferQuery {
  /** A GPU model as people say it: H100, A100, A6000, RTX 4090 (case and punctuation ignored). */
  gpu?: string;
  /** GPUs per instance (default: any for search, 1 for RunPod's per-GPU pricing). */
  count?: number;
  /** USD per hour, inclusive. */
  maxPricePerHour?: number;
  region?: string;
}

export interface Offer {
  backend: string;
  /** Stable for the same (type, region, …) on the same backend: `--offer ID` finds it again. */
  id: string;
  instanceType: string;
  gpu: string;
  gpuCount: number;
  gpuMemoryGb?: number;
  vcpus?: number;
  memoryGb?: number;
  diskGb?: number;
  region: string;
  /** USD per hour for the whole instance. */
  pricePerHour: number;
  /** Live: the provider says it can launch this now (not a reservation). */
  available: boolean;
  shape: InstanceShape;
  /** What this backend needs to launch the offer (opaque to callers). */
  launch: Readonly<Record<string, unknown>>;
}

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
}

export interface Instance {
  backend: string;
  id: string;
  name?: string;
  state: InstanceState;
  /** The provider's own word for it (`booting`, `pending_provider`, `RUNNING`). */
  providerState: string;
  /** Compute is being charged: anything launched and not yet terminating/deleting/stopped. */
  billing: boolean;
  instanceType?: string;
  region?: string;
  pricePerHour?: number;
  /** Known once the provider assigned an address (Lambda: null while booting). */
  ssh?: SshEndpoint;
  createdAt?: string;
}

export interface LaunchRequest {
  offer: Offer;
  /** Unique per launch intent: found again in the provider's list when a launch response is lost. */
  name: string;
  /** From ensureSshKey. */
  sshKey: SshKeyRef;
  diskGb?: number;
  /** RunPod: the container image of the pod (it is the dev container). */
  image?: string;
  signal?: AbortSignal;
}

/** What a backend needs to put our public key on the instance. */
export interface SshKeyRef {
  /** Lambda: the key's name; Shadeform: its id; RunPod: empty (the key travels in PUBLIC_KEY). */
  ref: string;
  publicKey: string;
}

export interface BackendCapabilities {
  /** Stop (keep the disk, stop compute billing) exists. Lambda has none. */
  stop: boolean;
  shape: InstanceShape;
}

export interface ProvisioningBackend {
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /** One cheap authenticated call: throws PROVIDER_AUTH_FAILED on a bad key. */
  verify(signal?: AbortSignal): Promise<void>;
  /** Offers with live availability; unavailable ones included (available: false). */
  listOffers(query: OfferQuery, signal?: AbortSignal): Promise<Offer[]>;
  /** Registers the public key once (found by content or name) and returns how to name it at launch. */
  ensureSshKey(key: { name: string; publicKey: string }, signal?: AbortSignal): Promise<SshKeyRef>;
  /** Exactly one instance. Never retried on an ambiguous failure: the caller looks for `name` instead. */
  launch(request: LaunchRequest): Promise<{ id: string }>;
  /** undefined when the provider no longer knows it (gone). */
  get(id: string, signal?: AbortSignal): Promise<Instance | undefined>;
  /** Every instance of the account the provider still lists. */
  list(signal?: AbortSignal): Promise<Instance[]>;
  /** Only when capabilities.stop. */
  stop?(id: string, signal?: AbortSignal): Promise<void>;
  /** Idempotent: an instance already gone is success. */
  terminate(id: string, signal?: AbortSignal): Promise<void>;
}

/**
 * A GPU cloud a plugin adds next to lambda, shadeform and runpod: it appears in
 * `backend add|list`, `search`, `provision` and `instances` (API 1.2). Its API key
 * lives in the secret store like the built-ins'; `create` gets it per command.
 */
export interface PluginBackend {
  /** Lowercase letters, digits and `-`; must not be a built-in's name. */
  name: string;
  title: string;
  defaultBaseUrl: string;
  /** Environment variable that overrides the base URL. Default: MLTOOLBOX_<NAME>_URL. */
  baseUrlEnv?: string;
  capabilities: BackendCapabilities;
  create(options: { apiKey: string; baseUrl: string; debug?(message: string): void }): ProvisioningBackend;
}

// ---------------------------------------------------------------------------
// The plugin object
// ---------------------------------------------------------------------------

/**
 * One plugin: one object. `Section` is the type of its validated config
 * section, `Options` of its entry's `options:`. They default to `any` so a
 * typed plugin still fits a `Plugin[]` list (hooks take them as parameters).
 */
export interface Plugin<Section = any, Options = any> {
  /** Lowercase letters, digits and `-`: `wandb`, `gpu-metrics`. */
  name: string;
  /** The plugin's own version (semver). */
  version: string;
  /** The plugin API version it was written against (`1.0`): another major is refused, a newer minor warns. */
  apiVersion: string;
  description?: string;
  /** Its own section of mltoolbox.yaml. */
  config?: PluginConfigSpec;
  commands?: readonly PluginCommand<Section, Options>[];
  hooks?: PluginHooks<Section, Options>;
  /** GPU clouds this plugin adds to provisioning (API 1.2). */
  backends?: readonly PluginBackend[];
}

/** Identity at run time; infers the section type from the config schema. */
export function definePlugin<S extends PluginSchema = PluginSchema, Options = Record<string, unknown>>(
  plugin: Omit<Plugin<InferSection<S>, Options>, 'config'> & { config?: PluginConfigSpec<S> },
): Plugin<InferSection<S>, Options> {
  return plugin as Plugin<InferSection<S>, Options>;
}

/** An error whose hint mltoolbox shows under the plugin's error line. Any Error with a string `hint` works the same. */
export function pluginError(message: string, hint: string, options?: { cause?: unknown }): Error & { hint: string } {
  const error = new Error(message, options?.cause === undefined ? undefined : { cause: options.cause }) as Error & { hint: string };
  error.hint = hint;
  return error;
}
