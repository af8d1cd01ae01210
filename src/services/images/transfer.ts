import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../core/errors.ts';
import { chainIds } from '../containers/layers.ts';
import { createTarIndexer, type TarIndexEntry } from '../containers/tar.ts';
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

interface SavedArchive {
  file: string;
  /** Layer file paths in the archive, bottom first (manifest.json's Layers). */
  layerPaths: string[];
  /** The layers' diff IDs, bottom first (the config's rootfs.diff_ids). */
  diffIds: string[];
  /** Where each member lies in the file. */
  entries: TarIndexEntry[];
  totalBytes: number;
}

/** JSON members (manifest.json, the image config) are read; layer data only goes to the file. */
const SMALL_JSON = 8 * 1024 * 1024;

/**
 * Writes a `docker save` stream to `file` and, in the same pass, records where
 * every member lies and reads manifest.json and the image config.
 */
async function saveArchive(saved: Readable, file: string): Promise<SavedArchive> {
  const index = createTarIndexer((name, size) => name.endsWith('.json') && size < SMALL_JSON);
  let totalBytes = 0;
  const indexing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      index.push(chunk);
      totalBytes += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(saved, indexing, createWriteStream(file, { mode: 0o600 }));
  const json = (name: string) => index.entries.find((e) => e.name === name)?.data?.toString('utf8');
  const manifest = JSON.parse(json('manifest.json') ?? '[]') as { Config: string; Layers: string[] }[];
  const first = manifest[0];
  if (!first) throw new UserError('IMAGE_TRANSFER_FAILED', 'the saved image has no manifest.json', 'the local engine wrote an archive mltoolbox cannot read; try docker save IMAGE | ssh HOST docker load');
  const config = JSON.parse(json(first.Config) ?? '{}') as { rootfs?: { diff_ids?: string[] } };
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== first.Layers.length) {
    throw new UserError('IMAGE_TRANSFER_FAILED', `the saved image lists ${first.Layers.length} layer files but ${diffIds.length} layers`, 'try docker save IMAGE | ssh HOST docker load');
  }
  return { file, layerPaths: first.Layers, diffIds, entries: index.entries, totalBytes };
}

/** The members to send, as byte ranges of the saved file, then the end-of-archive blocks. */
function keptRanges(archive: SavedArchive, skip: ReadonlySet<string>): { start: number; end: number }[] {
  const ranges: { start: number; end: number }[] = [];
  for (const entry of archive.entries) {
    if (skip.has(entry.name)) continue;
    const last = ranges.at(-1);
    if (last && last.end === entry.start) last.end = entry.end; // neighbours: one read
    else ranges.push({ start: entry.start, end: entry.end });
  }
  return ranges;
}

/**
 * The archive without the skipped members, cut from the saved file by byte
 * range (no unpacking and repacking); counts what passes.
 */
function filteredArchive(archive: SavedArchive, skip: ReadonlySet<string>, onBytes: (n: number) => void): Readable {
  const ranges = keptRanges(archive, skip);
  async function* bytes(): AsyncGenerator<Buffer> {
    for (const range of ranges) {
      if (range.end <= range.start) continue;
      for await (const chunk of createReadStream(archive.file, { start: range.start, end: range.end - 1, highWaterMark: 1024 * 1024 })) {
        onBytes((chunk as Buffer).length);
        yield chunk as Buffer;
      }
    }
    const end = Buffer.alloc(1024); // two zero blocks close a tar archive
    onBytes(end.length);
    yield end;
  }
  return Readable.from(bytes());
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
    const total = keptRanges(archive, skip).reduce((sum, r) => sum + r.end - r.start, 1024);
    let sent = 0;
    const body = filteredArchive(archive, skip, (n) => {
      sent += n;
      onProgress({ sent, total });
    });
    await destination.loadImage(body);
    return { image: reference, layers: archive.diffIds.length, layersSkipped: keep, bytesSent: sent, bytesFull: archive.totalBytes, durationMs: Date.now() - started };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}
