import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { UserError } from '../../core/errors.ts';
import { parseDockerignore, type IgnoreMatcher } from './dockerignore.ts';
import { tarStream, type TarEntry } from './tar.ts';

/** Where a Dockerfile from outside the context travels inside the tar. */
const OUTSIDE_DOCKERFILE = '.mltoolbox.Dockerfile';

export interface BuildContext {
  /** The uncompressed tar stream to POST to /build. */
  stream: Readable;
  /** The Dockerfile's path inside the tar (the `dockerfile` build parameter). */
  dockerfile: string;
}

/**
 * Packs a build context as the docker CLI does: every file not excluded by
 * .dockerignore, plus the Dockerfile and .dockerignore themselves even when
 * excluded (the engine needs them; COPY still skips them). A Dockerfile
 * outside the context is added under a fixed name.
 */
export async function packBuildContext(options: { context: string; dockerfile?: string }): Promise<BuildContext> {
  const root = resolve(options.context);
  const rootStat = await stat(root).catch(() => undefined);
  if (!rootStat?.isDirectory()) {
    throw new UserError('BUILD_CONTEXT_INVALID', `the build context ${root} is not a folder`, 'set the build context to an existing folder (environment.build.context)');
  }
  const dockerfilePath = resolve(root, options.dockerfile ?? 'Dockerfile');
  const dockerfileStat = await stat(dockerfilePath).catch(() => undefined);
  if (!dockerfileStat?.isFile()) {
    throw new UserError('BUILD_CONTEXT_INVALID', `no Dockerfile at ${dockerfilePath}`, 'check environment.dockerfile (relative to the config file)');
  }
  const ignore = parseDockerignore(await readFile(join(root, '.dockerignore'), 'utf8').catch(() => ''));
  const inside = relative(root, dockerfilePath);
  const dockerfileInside = !inside.startsWith('..') && !isAbsolute(inside);
  const dockerfile = dockerfileInside ? inside.split(sep).join('/') : OUTSIDE_DOCKERFILE;
  const alwaysSend = new Set(dockerfileInside ? [dockerfile, '.dockerignore'] : ['.dockerignore']);

  async function* entries(): AsyncGenerator<TarEntry> {
    yield* walk(root, '', ignore, alwaysSend);
    if (!dockerfileInside) {
      yield { type: 'data', path: OUTSIDE_DOCKERFILE, mode: 0o644, mtime: dockerfileStat!.mtime, data: await readFile(dockerfilePath) };
    }
  }
  return { stream: Readable.from(tarStream(entries())), dockerfile };
}

async function* walk(root: string, prefix: string, ignore: IgnoreMatcher, alwaysSend: Set<string>): AsyncGenerator<TarEntry> {
  const names = (await readdir(join(root, prefix))).sort();
  for (const name of names) {
    const path = prefix ? `${prefix}/${name}` : name;
    const absolute = join(root, path);
    const info = await lstat(absolute);
    const excluded = ignore.ignores(path) && !alwaysSend.has(path);
    if (info.isDirectory()) {
      // An excluded folder is skipped whole, unless a `!` line might re-include something inside.
      if (excluded && !ignore.hasExceptions) continue;
      if (!excluded) yield { type: 'directory', path, mode: info.mode, mtime: info.mtime };
      yield* walk(root, path, ignore, alwaysSend);
      continue;
    }
    if (excluded) continue;
    if (info.isFile()) yield { type: 'file', path, mode: info.mode, mtime: info.mtime, size: info.size, source: absolute };
    else if (info.isSymbolicLink()) yield { type: 'symlink', path, mode: info.mode, mtime: info.mtime, target: await readlink(absolute) };
    // Sockets, fifos and devices have no place in an image.
  }
}
