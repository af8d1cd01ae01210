import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { ContainerManager } from '../../services/containers/types.ts';

/**
 * `mltoolbox relay image build`: a relay container image made offline, with
 * no registry — the offline Debian base `image bootstrap` makes (or any
 * local image with a shell, `--base`), plus this machine's Node runtime,
 * mltoolbox's bundle and only the npm packages the relay loads at run time.
 * The image runs `relay serve` on port 7878 as an unprivileged user, its
 * state (SQLite, tokens) in the /data volume, with the memory flags of
 * docs/relay.md#memory.
 */
export interface RelayImageRequest {
  /** The base image; default: image bootstrap's Debian image (built when missing). */
  base?: string;
  tag: string;
  /** mltoolbox's installed folder (bin/, dist/, package.json, node_modules/). */
  packageRoot: string;
  /** The Node executable to ship (this one: the same version that runs the CLI). */
  nodeBinary: string;
}

/**
 * The npm packages the relay imports from node_modules at run time: only PostgreSQL's client (a team
 * relay). fastify, ws and ajv are inside the relay's own bundle, dist/relay/main.js (scripts/bundle.mjs).
 */
const RELAY_RUNTIME_PACKAGES = ['pg'];
/**
 * The flags the relay runs with (measured in bench/relay.ts --compare; docs/relay.md#memory):
 * a 1 MiB young generation instead of 16+ MiB, no JIT (the relay parses a few hundred small
 * frames a second; compiled code would cost more memory than it saves time), and V8's
 * smaller heap growth (2–4 MiB less at peak in three runs, fan-out p99 no worse).
 */
export const RELAY_NODE_FLAGS = ['--max-semi-space-size=1', '--jitless', '--optimize-for-size'];
const RELAY_UID = 10001;

/** Those packages and everything they depend on, as folder names under node_modules. */
export function runtimeClosure(nodeModules: string, roots: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    const manifest = join(nodeModules, name, 'package.json');
    if (!existsSync(manifest)) return;
    seen.add(name);
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]) visit(dep);
  };
  roots.forEach(visit);
  return [...seen].sort();
}

export function relayDockerfile(base: string): string {
  const entry = ['/usr/local/bin/node', ...RELAY_NODE_FLAGS, '/opt/mltoolbox/bin/mltoolbox.js', 'relay', 'serve', '--host', '0.0.0.0', '--port', '7878'];
  return [
    `FROM ${base}`,
    'COPY node /usr/local/bin/node',
    'COPY mltoolbox /opt/mltoolbox',
    'COPY mltoolbox.sh /usr/local/bin/mltoolbox',
    `RUN chmod 0755 /usr/local/bin/node /usr/local/bin/mltoolbox && mkdir -p /data && chown ${RELAY_UID}:${RELAY_UID} /data && chmod 0700 /data`,
    // State, tokens and the config live under /data (a volume): `docker exec … mltoolbox relay token create` finds the same database.
    'ENV MLTOOLBOX_DATA_DIR=/data MLTOOLBOX_STATE_DIR=/data/state MLTOOLBOX_CONFIG_DIR=/data/config HOME=/data MLTOOLBOX_SECRET_STORE=file NO_COLOR=1',
    'VOLUME /data',
    `USER ${RELAY_UID}:${RELAY_UID}`,
    'EXPOSE 7878',
    `ENTRYPOINT ${JSON.stringify(entry)}`,
    '',
  ].join('\n');
}

export async function buildRelayImage(containers: ContainerManager, request: RelayImageRequest & { base: string }, reporter: Reporter): Promise<{ tag: string; imageId: string; base: string; packages: number }> {
  const { packageRoot } = request;
  for (const needed of ['bin/mltoolbox.js', 'dist/cli.js', 'dist/relay/main.js', 'package.json']) {
    if (!existsSync(join(packageRoot, needed))) {
      throw new UserError('RELAY_IMAGE_BUILD_FAILED', `mltoolbox's ${needed} is missing under ${packageRoot}`, 'build mltoolbox first (npm run build), or run the installed mltoolbox');
    }
  }
  if (!(await containers.imageId(request.base))) {
    throw new UserError('RELAY_IMAGE_BUILD_FAILED', `the base image ${request.base} is not on this machine's Docker Engine`, 'make the offline Debian base with: mltoolbox image bootstrap (or pass --base IMAGE with an image you have)');
  }
  const context = mkdtempSync(join(tmpdir(), 'mlt-relay-image-'));
  try {
    const app = join(context, 'mltoolbox');
    for (const part of ['bin', 'dist', 'package.json']) cpSync(join(packageRoot, part), join(app, part), { recursive: true });
    const packages = runtimeClosure(join(packageRoot, 'node_modules'), RELAY_RUNTIME_PACKAGES);
    for (const name of packages) cpSync(join(packageRoot, 'node_modules', name), join(app, 'node_modules', name), { recursive: true, dereference: true });
    cpSync(request.nodeBinary, join(context, 'node'));
    writeFileSync(join(context, 'mltoolbox.sh'), '#!/bin/sh\nexec /usr/local/bin/node /opt/mltoolbox/bin/mltoolbox.js "$@"\n');
    writeFileSync(join(context, 'Dockerfile'), relayDockerfile(request.base));
    const built = await reporter.task(`Building ${request.tag} from ${request.base} (offline: no registry)`, (task) =>
      containers.build({ context, tag: request.tag, labels: { 'mltoolbox.relay': 'true' } }, (line) => task.update(line.slice(0, 70))));
    return { tag: built.tag, imageId: built.imageId, base: request.base, packages: packages.length };
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}
