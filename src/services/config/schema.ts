import * as z from 'zod';
import { ENV_NAME, ENV_NAME_RULE, envNameProblem } from '../../core/env-name.ts';
import { IMAGE_SOURCE_KEYS, type Origin } from './layer.ts';
import { PORT_MAPPING } from '../ports/port-spec.ts';
import { parseTarget, parseUser } from '../ssh/target.ts';

/**
 * The one source of truth for mltoolbox.yaml: the TypeScript types (z.infer),
 * validation, and the JSON Schema editors use (`mltoolbox config schema`).
 * Every object is strict so a typo is an error, never a silently ignored key.
 * Defaults live in defaults.ts (a layer, so `config show --origin` can say
 * "default"); the schema only describes them.
 */

const commandLine = z.union([z.string(), z.array(z.string())], {
  error: 'expected a command string or a list of arguments',
});

/** devcontainer.json's lifecycle command shape: string, argv list, or named parallel commands. */
const lifecycleCommand = z
  .union([commandLine, z.record(z.string(), commandLine)], {
    error: 'expected a command string, a list of arguments, or a map of named commands',
  })
  .describe('A shell command string, an argv list, or a map of named commands run in parallel.');

const portNumber = z.number().int().min(1).max(65535);

const port = z.union([portNumber, z.string().regex(PORT_MAPPING, { error: 'expected a port number (8888) or a mapping string ("8888:8888", "127.0.0.1:6006:6006/tcp")' })], {
  error: 'expected a port number (8888) or a mapping string ("8888:8888", "127.0.0.1:6006:6006/tcp")',
});

const dockerfileObject = z
  .strictObject({
    path: z.string().min(1).describe('Dockerfile path, relative to the config file. Example: docker/Dockerfile'),
    context: z.string().optional().describe('Build context folder, relative to the config file. Default: the Dockerfile\'s folder.'),
    args: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional().describe('Build arguments (--build-arg).'),
    target: z.string().optional().describe('Multi-stage build target.'),
  })
  .describe('Build the container image from a Dockerfile.');

/** A feature's options as written: strings and booleans per the spec (numbers reach the feature's own type check). */
const featureOptions = z.union([
  z.string(),
  z.boolean(),
  z.record(z.string(), z.union([z.string(), z.boolean(), z.number()], { error: 'expected a string or a boolean option value' })),
], { error: 'expected an object of options, or a version string' });

// Keys of env maps: one rule everywhere (src/core/env-name.ts); a bad key is an error at its position.
// The same rule is in the generated JSON Schema (propertyNames.pattern), for editors.
const envName = z.string().superRefine((name, context) => {
  const problem = envNameProblem(name);
  if (problem) context.addIssue({ code: 'custom', message: problem });
}).meta({ pattern: ENV_NAME.source, description: `${ENV_NAME_RULE[0]!.toUpperCase()}${ENV_NAME_RULE.slice(1)}.` });
/** `dockerfile: docker/Dockerfile` is short for `dockerfile: {path: docker/Dockerfile}`. */
const dockerfile = z
  .union([z.string().min(1).transform((path): z.output<typeof dockerfileObject> => ({ path })), dockerfileObject], { error: 'expected a Dockerfile path, or a mapping with path, context, args, target' })
  .describe('Build the container image from a Dockerfile: its path, or a mapping with path, context, args, target.');

const envValue = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' });

export { IMAGE_SOURCE_KEYS };

const environment = z
  .strictObject({
    base_image: z.string().min(1).optional().describe('Image to run, e.g. pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime. Exactly one of base_image, dockerfile, devcontainer.'),
    dockerfile: dockerfile.optional(),
    devcontainer: z.string().min(1).optional().describe('Path to a devcontainer.json, relative to the config file.'),
    env: z.record(envName, envValue).optional().describe('Environment variables for the container. Values may use ${env:NAME}, ${env:NAME:-default}, ${secret:name}.'),
    env_file: z.union([z.string(), z.array(z.string())]).optional().describe('dotenv file(s), relative to the config file that names them. Later files win; `env` wins over files.'),
    profile: z.string().min(1).optional().describe('A named set of variables passed through from your machine: built-in ml-research, or one from `profiles:`.'),
    volumes: z.array(z.string()).optional().describe('Extra mounts, docker -v syntax: SOURCE:TARGET[:ro].'),
    ports: z.array(port).optional().describe('Ports to publish/forward: 8888 or "8888:8888".'),
    gpu_count: z.union([z.number().int().min(0), z.literal('all')], { error: 'expected a whole number of GPUs or "all"' }).optional().describe('How many GPUs to give the container. Default: all.'),
    gpus: z.enum(['optional', 'required', 'none']).optional().describe('required: fail without GPUs; optional: use them if present; none: never. Default: optional.'),
    gpu_devices: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:\/=-]*$/, { error: 'expected a GPU index or UUID, e.g. "0" or "GPU-5a3c…"' })).min(1).optional().describe('Which GPUs, by index or UUID (docker --gpus device=0,1; on Podman the CDI names nvidia.com/gpu=0, …). Overrides gpu_count.'),
    network_mode: z.string().optional().describe('Docker network mode, e.g. host. Default: docker\'s bridge.'),
    shm_size: z.union([z.string().regex(/^\d+(?:\.\d+)?[bkmgBKMG]?$/, { error: 'expected a size such as "16g" or a number of bytes' }), z.number().int().min(0)], { error: 'expected a size such as "16g" or a number of bytes' }).optional().describe('Shared memory for PyTorch data loaders, e.g. 16g. Default: 8g.'),
    user: z.string().optional().describe('User to run as inside the container (name or uid[:gid]).'),
    engine: z.enum(['docker', 'podman', 'auto']).optional().describe('The container engine on the host, reached through its API socket: docker (/var/run/docker.sock), podman (/run/podman/podman.sock as root, else $XDG_RUNTIME_DIR/podman/podman.sock), auto (the first of those that exists). remote.docker_socket overrides the path. Default: docker.'),
    image_transfer: z.enum(['auto', 'always', 'never']).optional().describe('When the host lacks the image: auto sends it from this machine\'s engine (only the layers the host lacks) if the host cannot pull it; always sends it instead of pulling; never only pulls. Default: auto.'),
    initialize_command: lifecycleCommand.optional().describe('Runs on the host before the container is created.'),
    on_create_command: lifecycleCommand.optional().describe('Runs in the container once, after it is created.'),
    post_create_command: lifecycleCommand.optional().describe('Runs in the container once, after on_create_command.'),
    post_start_command: lifecycleCommand.optional().describe('Runs in the container every time it starts.'),
    post_attach_command: lifecycleCommand.optional().describe('Runs in the container every time you attach.'),
    features: z.record(z.string().min(1), featureOptions).optional()
      .describe('Dev Container Features to install on top of the image: ghcr.io/devcontainers/features/python:1, https://…/devcontainer-feature-x.tgz or ./local-folder (relative to the project folder), each with its options. See docs/devcontainer.md.'),
    override_feature_install_order: z.array(z.string().min(1)).optional()
      .describe('Feature ids (without version) to install first, in this order, as soon as their dependencies allow (devcontainer.json: overrideFeatureInstallOrder).'),
  })
  .superRefine((value, context) => {
    const set = IMAGE_SOURCE_KEYS.filter((key) => value[key] !== undefined);
    if (set.length > 1) {
      for (const key of set.slice(1)) {
        context.addIssue({ code: 'custom', path: [key], message: `set only one of base_image, dockerfile, devcontainer (found ${set.join(' and ')})` });
      }
    } else if (set.length === 0) {
      context.addIssue({ code: 'custom', path: [], message: 'set one of environment.base_image, environment.dockerfile or environment.devcontainer' });
    }
  })
  .describe('The container: its image, variables, mounts, ports, GPUs and lifecycle commands.');

const sync = z
  .strictObject({
    exclude: z.array(z.string()).optional().describe('rsync-style patterns never copied to the host.'),
    include_overrides: z.array(z.string()).optional().describe('Patterns copied even when excluded or git-ignored.'),
    respect_gitignore: z.boolean().optional().describe('Skip files your .gitignore ignores. Default: true.'),
    strategy: z
      .enum(['rsync', 'rclone'])
      .optional()
      .describe('Transfer tool for the project: rsync (over the shared ssh connection; links, permissions, delta transfer) or rclone (its own SFTP connection; regular files only). Default: rsync. See docs/sync.md.'),
    watch: z
      .strictObject({
        enabled: z.boolean().optional().describe('Re-sync when local files change. Default: false.'),
        debounce_ms: z.number().int().min(0).max(60_000).optional().describe('Wait this long after the last change (editors write a save as a burst of events). Default: 75.'),
      })
      .optional()
      .describe('Continuous sync.'),
  })
  .describe('How the project folder is copied to the host.');

/** The one target rule (services/ssh/target.ts) at config time, at the value's position: `a@b@host` or a newline never waits for connect. */
const checked = (parse: (text: string) => unknown) => (text: string, context: z.core.$RefinementCtx<string>) => {
  if (text.includes('${')) return; // an unresolved ${env:…}: its own problem is reported, once
  try {
    parse(text);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
  }
};

const remote = z
  .strictObject({
    host: z.string().min(1).superRefine(checked(parseTarget)).optional().describe('Default host: an ~/.ssh/config alias or hostname.'),
    user: z.string().min(1).superRefine(checked(parseUser)).optional().describe('SSH user. Default: from your ssh config.'),
    port: portNumber.optional().describe('SSH port. Default: from your ssh config (22).'),
    identity_file: z.string().min(1).optional().describe('Private key file. Default: ssh-agent and your ssh config.'),
    ssh_config: z.string().min(1).optional().describe('ssh config file to use instead of ~/.ssh/config.'),
    connect_timeout: z.number().int().min(1).max(600).optional().describe('Seconds to wait for the SSH connection. Default: 10.'),
    docker_socket: z.string().regex(/^\/[^\s]*$/, { error: 'expected an absolute path without spaces, e.g. /var/run/docker.sock' }).optional().describe('The Docker Engine\'s unix socket on the host (a rootless or second engine). Default: /var/run/docker.sock.'),
  })
  .describe('Defaults for the GPU host.');

const agent = z
  .strictObject({
    auto_install: z.boolean().optional().describe('connect installs or upgrades the mlt agent on the host without asking. Default: false (asks on a terminal).'),
    // No control characters: the path reaches ssh_config (the editor alias) and the host's shell scripts.
    install_dir: z.string().regex(/^(\/|~\/)[^\x00-\x1f\x7f]*$/, { error: 'expected an absolute path or ~/… on the host, without line breaks or other control characters' }).optional().describe('Folder on the host for the mlt executable. Default: ~/.local/bin (/usr/local/bin as root).'),
  })
  .describe('The mlt agent on the host (docs/agent.md).');

const backendName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, { error: 'expected a backend name such as lambda, shadeform or runpod' });

const provision = z
  .strictObject({
    backend: backendName.optional().describe('Only this backend for search and provision, e.g. lambda. Default: every backend added with `mltoolbox backend add`.'),
    gpu: z.string().min(1).optional().describe('GPU model wanted, e.g. H100, A100, "RTX 4090" (what --gpu gives).'),
    gpu_count: z.number().int().min(1).max(16).optional().describe('GPUs per instance (what --count gives).'),
    instance_type: z.string().min(1).optional().describe('Only this instance type, as search shows it, e.g. gpu_1x_a100 (lambda) or A6000 (shadeform).'),
    region: z.string().min(1).optional().describe('Only this region, e.g. us-east-1.'),
    max_price: z.number().positive().optional().describe('Never launch an offer above this many USD per hour (what --max-price gives).'),
    disk_gb: z.number().int().min(1).optional().describe('Disk size in GB: RunPod creates the pod with it; on Lambda and Shadeform (fixed disks) offers with less are skipped.'),
    idle_timeout_minutes: z.number().int().min(0).optional().describe('Idle minutes before the idle action (0: never). Default: 30.'),
    idle_action: z.enum(['stop', 'terminate', 'notify']).optional().describe('What happens after idle_timeout_minutes: stop where the provider can (else notify), terminate, or notify only. Default: stop.'),
    idle_key_on_host: z.boolean().optional().describe('Consent to place the backend\'s API key on the instance (a 0600 file read only by the idle watcher) so it can stop or terminate itself when idle (what --idle-key-on-host gives). Default: false (asks on a terminal; without it the watcher only notifies).'),
    ready_timeout_minutes: z.number().int().min(1).max(120).optional().describe('How long provision waits for the instance to be active and answer SSH before terminating it. Default: 20.'),
    ssh_public_key: z.string().min(1).optional().describe('Public key registered with the provider (its private key must sit next to it without .pub). Default: ~/.ssh/id_ed25519.pub, else a key mltoolbox generates once.'),
    backends: z.record(backendName, z.strictObject({
      url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional().describe('API base URL (MLTOOLBOX_<NAME>_URL wins), e.g. for a proxy.'),
      ssh_user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { error: 'expected a user name such as ubuntu' }).optional().describe('Log in as this user instead of the provider\'s (Lambda: ubuntu), e.g. for a custom image.'),
      ssh_port: z.number().int().min(1).max(65535).optional().describe('SSH port instead of the provider\'s (Lambda: 22), e.g. behind a port-forwarding gateway.'),
    })).optional().describe('Per-backend settings, e.g. backends: { lambda: { url: https://cloud.lambda.ai } }.'),
  })
  .describe('Cloud GPU provisioning (see docs/provisioning.md).');

const relay = z
  .strictObject({
    url: z.string().regex(/^https?:\/\/[^\s]+$/, { error: 'expected an http(s) URL, e.g. https://relay.example.org:7878' }).optional().describe('The relay the CLI asks first (status goes through it, falling back to SSH). MLTOOLBOX_RELAY overrides it. The user token lives in the secret store as relay_token.'),
    database_url: z.string()
      .regex(/^postgres(?:ql)?:\/\/[^\s]+$/, { error: 'expected a PostgreSQL URL, e.g. postgresql://relay@db.internal:5432/relay' })
      .refine((url) => !/^postgres(?:ql)?:\/\/[^/@]*:[^/@]*@/.test(url), { error: 'no password in a config file: store it with `mltoolbox secret set relay_db_password` and leave it out of the URL' })
      .optional()
      .describe('PostgreSQL for `relay serve` and `relay token` (a team relay), without a password (that goes in the secret store as relay_db_password, or ~/.pgpass). Default: SQLite in the data folder.'),
    timeout_ms: z.number().int().min(50).max(10_000).optional().describe('How long the CLI waits for the relay before asking the host over SSH. Default: 300.'),
  })
  .describe('The relay: one server for every host, with a live dashboard (docs/relay.md).');

const hooks = z
  .strictObject({
    pre_sync: lifecycleCommand.optional().describe('Runs locally in the project folder before each sync.'),
    post_sync: lifecycleCommand.optional().describe('Runs locally after each sync.'),
    post_connect: lifecycleCommand.optional().describe('Runs locally after the container is ready.'),
    pre_disconnect: lifecycleCommand.optional().describe('Runs locally before disconnecting.'),
  })
  .describe('Commands mltoolbox runs at points of its own workflow.');

const profile = z
  .strictObject({
    pass_through: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' })).optional().describe('Variables copied from your machine\'s environment when set.'),
    env: z.record(envName, envValue).optional().describe('Fixed variables this profile sets.'),
  })
  .describe('A named set of container variables.');

/** What a plugin contributes: its own top-level section, validated like the rest. */
export type PluginSections = Record<string, z.ZodType>;

/**
 * Plugin sections known up front, or computed from the merged (not yet
 * validated) configuration: the enabled plugins are listed in `plugins:`, so
 * their schemas are known only once the files are read.
 */
export type PluginSectionsSource =
  | PluginSections
  | ((config: Record<string, unknown>, context: { origins: ReadonlyMap<string, Origin> }) => Promise<PluginSections>);

const PLUGIN_REF_KEYS = ['name', 'path', 'package'] as const;

const pluginEntry = z.union([
  z.string().min(1),
  z
    .strictObject({
      name: z.string().min(1).optional().describe('A built-in (ray, wandb, gpu-metrics, slack), a file plugin\'s name, or NAME for the package mltoolbox-plugin-NAME.'),
      path: z.string().min(1).optional().describe('A plugin file (.js/.mjs), relative to the config file that names it.'),
      package: z.string().min(1).optional().describe('An npm package resolvable from the project or globally, e.g. mltoolbox-plugin-foo.'),
      enabled: z.boolean().optional().describe('false: keep the entry but do not load it. Default: true.'),
      required: z.boolean().optional().describe('true: a failing hook fails the command. Default: false (a warning).'),
      timeout_ms: z.number().int().min(1).max(3_600_000).optional().describe('Time limit of each hook call. Default: 30000.'),
      options: z.record(z.string(), z.unknown()).optional().describe('Passed to the plugin as context.config.options.'),
    })
    .superRefine((value, context) => {
      const set = PLUGIN_REF_KEYS.filter((key) => value[key] !== undefined);
      if (set.length !== 1) context.addIssue({ code: 'custom', path: [], message: set.length ? `set only one of name, path, package (found ${set.join(' and ')})` : 'set one of name, path or package' });
    }),
], { error: 'expected a plugin name, or a mapping with name, path or package' });

export function createConfigSchema<S extends PluginSections = Record<never, never>>(pluginSections: S = {} as S) {
  return z
    .strictObject({
      version: z.literal(1, { error: 'expected version: 1 (the only config format so far)' }).optional().describe('Config format version. Always 1.'),
      project: z
        .strictObject({
          name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: 'use letters, digits, _, . and -, starting with a letter or digit' }).optional().describe('Project name, used for container and folder names. Default: the folder name.'),
          workdir: z.string().regex(/^\//, { error: 'expected an absolute path inside the container' }).optional().describe('Where the project lives in the container. Default: /workspace.'),
        })
        .optional()
        .describe('The project itself.'),
      environment: environment.optional(),
      sync: sync.optional(),
      remote: remote.optional(),
      agent: agent.optional(),
      provision: provision.optional(),
      hooks: hooks.optional(),
      relay: relay.optional(),
      plugins: z.array(pluginEntry).optional().describe('Plugins to enable: names (ray, wandb), or mappings with name/path/package, required, timeout_ms and options. See docs/plugins.md.'),
      profiles: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: 'profile names use letters, digits, _, . and -' }), profile).optional().describe('Your own profiles (usually in the user config), used by environment.profile.'),
      ...pluginSections,
    })
    .describe('mltoolbox project configuration (mltoolbox.yaml)');
}

export const configSchema = createConfigSchema();

/** A validated configuration, with every value as written (before defaults were known to be set). */
export type MltoolboxConfig = z.infer<typeof configSchema>;

/** The JSON Schema for editors (yaml-language-server) and `mltoolbox config schema`. */
export function configJsonSchema(schema: z.ZodType = configSchema): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...json, title: 'mltoolbox.yaml' };
}
