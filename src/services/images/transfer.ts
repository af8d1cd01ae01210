import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../core/errors.ts';
import { chainIds } from '../containers/layers.ts';
import type { ContainerManager } from '../containers/types.ts';

/**
 * Moves an image from one engine to another without a registry, sending only
 * the layers the destination lacks (the idea of unregistry's `docker pussh`):
 * `docker save` on the source into a temporary file, read its manifest, drop
 * the layer files whose chain the destination already holds, and `docker load`
 * the rest there. `docker load` looks a layer up by its chain ID before it
 * reads its file, so a layer the destination has needs no bytes.
 */

export interface TransferProgress {
  sent: number;
  /** Bytes the filtered archive will have (known after the manifest is read). */
  total: number;
}

export interface TransferResult {
  image: string;
  /** Layers of the image, and how many of them the destination already had. */
  layers: number;
  layersSkipped: number;
  /** Bytes sent to the destination engine (the filtered archive). */
  bytesSent: number;
  /** What a full `docker save | docker load` would have sent. */
  bytesFull: number;
  durationMs: number;
}

/** How many leading layers the destination holds (a chain is present only with all below it). */
export function presentPrefix(diffIds: readonly string[], present: ReadonlySet<string>): number {
  const chains = chainIds(diffIds);
  let n = 0;
  while (n < chains.length && present.has(chains[n]!)) n++;
  return n;
}

/** tar-stream is CommonJS: its functions sit on the default export once bundled. */
async function loadTar(): Promise<typeof import('tar-stream')> {
  const loaded = await import('tar-stream');
  return (loaded as unknown as { default?: typeof loaded }).default ?? loaded;
}

interface SavedArchive {
  file: string;
  /** Layer file paths in the archive, bottom first (manifest.json's Layers). */
  layerPaths: string[];
  /** The layers' diff IDs, bottom first (the config's rootfs.diff_ids). */
  diffIds: string[];
  sizes: Map<string, number>;
  totalBytes: number;
}

/**
 * Writes a `docker save` stream to `file` and, in the same pass, reads its
 * manifest.json, the image config and every entry's size.
 */
async function saveArchive(saved: Readable, file: string): Promise<SavedArchive> {
  const tar = await loadTar();
  const sizes = new Map<string, number>();
  const small = new Map<string, Buffer>();
  const extract = tar.extract();
  let totalBytes = 0;
  extract.on('entry', (header, stream, next) => {
    sizes.set(header.name, header.size ?? 0);
    totalBytes += 512 + Math.ceil((header.size ?? 0) / 512) * 512;
    if (header.name.endsWith('.json') && (header.size ?? 0) < 8 * 1024 * 1024) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        small.set(header.name, Buffer.concat(chunks));
        next();
      });
    } else {
      stream.on('end', () => next());
      stream.resume();
    }
  });
  const parsed = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  // One read of the engine's stream: to the file and through the parser.
  saved.on('data', (chunk: Buffer) => {
    if (!extract.write(chunk)) {
      saved.pause();
      extract.once('drain', () => saved.resume());
    }
  });
  saved.on('end', () => extract.end());
  await Promise.all([pipeline(saved, createWriteStream(file, { mode: 0o600 })), parsed]);
  const manifest = JSON.parse(small.get('manifest.json')?.toString('utf8') ?? '[]') as { Config: string; Layers: string[] }[];
  const first = manifest[0];
  if (!first) throw new UserError('IMAGE_TRANSFER_FAILED', 'the saved image has no manifest.json', 'the local engine wrote an archive mltoolbox cannot read; try docker save IMAGE | ssh HOST docker load');
  const config = JSON.parse(small.get(first.Config)?.toString('utf8') ?? '{}') as { rootfs?: { diff_ids?: string[] } };
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== first.Layers.length) {
    throw new UserError('IMAGE_TRANSFER_FAILED', `the saved image lists ${first.Layers.length} layer files but ${diffIds.length} layers`, 'try docker save IMAGE | ssh HOST docker load');
  }
  return { file, layerPaths: first.Layers, diffIds, sizes, totalBytes };
}

/** The archive without the given entries, as a stream; counts what passes. */
async function filteredArchive(archive: SavedArchive, skip: ReadonlySet<string>, onBytes: (n: number) => void): Promise<Readable> {
  const tar = await loadTar();
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on('entry', (header, stream, next) => {
    if (skip.has(header.name)) {
      stream.on('end', () => next());
      stream.resume();
      return;
    }
    stream.pipe(pack.entry(header, (error) => next(error ?? undefined)));
  });
  extract.on('finish', () => pack.finalize());
  extract.on('error', (error) => pack.destroy(error));
  createReadStream(archive.file).on('error', (error) => extract.destroy(error)).pipe(extract);
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
  pack.on('error', (error) => counter.destroy(error));
  return pack.pipe(counter);
}

/**
 * Sends `reference` from `source` to `destination`, only the layers the
 * destination lacks. `onProgress` sees the bytes sent.
 */
export async function transferImage(
  source: ContainerManager, destination: ContainerManager, reference: string, onProgress: (progress: TransferProgress) => void = () => {},
): Promise<TransferResult> {
  const started = Date.now();
  if (!(await source.imageId(reference))) {
    throw new UserError('IMAGE_NOT_FOUND', `image ${reference} is not on this machine's Docker Engine, so it cannot be sent`, `build or pull it here first (docker images lists what is here), then: mltoolbox image push HOST ${reference}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'mlt-image-'));
  try {
    const file = join(dir, 'image.tar');
    // The host's layers are listed while this machine's engine writes the archive.
    const [archive, present] = await Promise.all([source.saveImage(reference).then((saved) => saveArchive(saved, file)), destination.layerChains()]);
    const keep = presentPrefix(archive.diffIds, present);
    const skip = new Set(archive.layerPaths.slice(0, keep));
    let skippedBytes = 0;
    for (const path of skip) skippedBytes += 512 + Math.ceil((archive.sizes.get(path) ?? 0) / 512) * 512;
    const total = archive.totalBytes - skippedBytes;
    let sent = 0;
    const body = await filteredArchive(archive, skip, (n) => {
      sent += n;
      onProgress({ sent, total });
    });
    await destination.loadImage(body);
    return { image: reference, layers: archive.diffIds.length, layersSkipped: keep, bytesSent: sent, bytesFull: archive.totalBytes, durationMs: Date.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}
