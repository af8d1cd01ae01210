import { createReadStream } from 'node:fs';

/**
 * A minimal tar (POSIX ustar + pax) writer: just what a build context needs —
 * files, folders and symlinks, with long names and large sizes carried in
 * pax headers. Owner is root (as the docker CLI sends it), so COPY'd files
 * are root-owned unless the Dockerfile says otherwise.
 */
export type TarEntry =
  | { type: 'file'; path: string; mode: number; mtime: Date; size: number; source: string }
  | { type: 'data'; path: string; mode: number; mtime: Date; data: Buffer }
  | { type: 'directory'; path: string; mode: number; mtime: Date }
  | { type: 'symlink'; path: string; mode: number; mtime: Date; target: string };

const BLOCK = 512;
const MAX_OCTAL_SIZE = 8 ** 11 - 1;

export async function* tarStream(entries: AsyncIterable<TarEntry> | Iterable<TarEntry>): AsyncGenerator<Buffer> {
  for await (const entry of entries) {
    const size = entry.type === 'file' ? entry.size : entry.type === 'data' ? entry.data.length : 0;
    const name = entry.type === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path;
    const linkname = entry.type === 'symlink' ? entry.target : '';
    const pax: Record<string, string> = {};
    if (Buffer.byteLength(name) > 100) pax.path = name;
    if (Buffer.byteLength(linkname) > 100) pax.linkpath = linkname;
    if (size > MAX_OCTAL_SIZE) pax.size = String(size);
    if (Object.keys(pax).length > 0) {
      const records = paxRecords(pax);
      yield header({ name: 'PaxHeaders/entry', mode: 0o644, size: records.length, mtime: entry.mtime, typeflag: 'x', linkname: '' });
      yield records;
      yield padding(records.length);
    }
    const typeflag = entry.type === 'directory' ? '5' : entry.type === 'symlink' ? '2' : '0';
    yield header({ name: truncate(name, 100), mode: entry.mode, size: size > MAX_OCTAL_SIZE ? 0 : size, mtime: entry.mtime, typeflag, linkname: truncate(linkname, 100) });
    if (entry.type === 'data') {
      yield entry.data;
    } else if (entry.type === 'file') {
      let written = 0;
      for await (const chunk of createReadStream(entry.source)) {
        const buffer = chunk as Buffer;
        // A file that grew while we read it: send only the size the header promised.
        const room = entry.size - written;
        if (room <= 0) break;
        const part = buffer.length > room ? buffer.subarray(0, room) : buffer;
        written += part.length;
        yield part;
      }
      // A file that shrank: pad with zeros so the archive stays well-formed.
      if (written < entry.size) yield Buffer.alloc(entry.size - written);
    }
    if (size > 0) yield padding(size);
  }
  yield Buffer.alloc(BLOCK * 2);
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** pax records are "LEN key=value\n" where LEN counts the whole record, itself included. */
function paxRecords(fields: Record<string, string>): Buffer {
  let text = '';
  for (const [key, value] of Object.entries(fields)) {
    const body = ` ${key}=${value}\n`;
    const bodyLength = Buffer.byteLength(body);
    let length = bodyLength + String(bodyLength).length;
    if (String(length).length !== String(bodyLength).length) length = bodyLength + String(length).length;
    text += `${length}${body}`;
  }
  return Buffer.from(text);
}

function truncate(text: string, bytes: number): string {
  const buffer = Buffer.from(text);
  return buffer.length <= bytes ? text : buffer.subarray(0, bytes).toString();
}

function header(fields: { name: string; mode: number; size: number; mtime: Date; typeflag: string; linkname: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name, 0, 100);
  writeOctal(block, fields.mode & 0o7777, 100, 8);
  writeOctal(block, 0, 108, 8); // uid
  writeOctal(block, 0, 116, 8); // gid
  writeOctal(block, fields.size, 124, 12);
  writeOctal(block, Math.max(0, Math.floor(fields.mtime.getTime() / 1000)), 136, 12);
  block.fill(' ', 148, 156); // checksum placeholder
  block.write(fields.typeflag, 156, 1);
  block.write(fields.linkname, 157, 100);
  block.write('ustar\u000000', 257, 8);
  block.write('root', 265, 32);
  block.write('root', 297, 32);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8);
  return block;
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length);
}

/** One member of a tar archive as it lies in the bytes: its headers (pax included) through its padded data. */
export interface TarIndexEntry {
  name: string;
  size: number;
  /** Offset of its first header block (a pax header before it counts as its own). */
  start: number;
  /** Offset just after its padded data. */
  end: number;
  /** The data, for members `keep` asked for. */
  data?: Buffer;
}

/**
 * Reads a tar stream chunk by chunk and records where each member lies, so a
 * copy of the archive can later be cut by byte ranges (no unpacking and
 * repacking). `keep(name, size)` decides which members' data is kept in memory.
 * Understands ustar names with a prefix, pax `path`/`size`, GNU long names.
 */
export function createTarIndexer(keep: (name: string, size: number) => boolean = () => false) {
  const entries: TarIndexEntry[] = [];
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** What the next bytes are: a header block, or `skip` data bytes of the current member. */
  let state: { kind: 'header' } | { kind: 'data'; remaining: number; padding: number; collect?: Buffer[]; meta: boolean } = { kind: 'header' };
  let current: TarIndexEntry | undefined;
  let override: { path?: string; size?: number } = {};
  let metaStart: number | undefined;
  let metaKind = '';
  let done = false;

  const take = (n: number): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    pending = rest.length ? [rest] : [];
    pendingBytes = rest.length;
    offset += n;
    return head;
  };

  function onHeader(block: Buffer, at: number): void {
    if (block.every((b) => b === 0)) {
      done = true;
      return;
    }
    const field = (from: number, length: number) => block.subarray(from, from + length).toString('utf8').replace(/\0.*$/s, '');
    const typeflag = String.fromCharCode(block[156]!);
    const size = override.size ?? readNumber(block.subarray(124, 136));
    const isMeta = typeflag === 'x' || typeflag === 'g' || typeflag === 'L';
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (isMeta) {
      metaStart ??= at;
      metaKind = typeflag;
      state = { kind: 'data', remaining: size, padding, collect: [], meta: true };
      return;
    }
    const prefix = field(345, 155);
    const name = override.path ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    current = { name, size, start: metaStart ?? at, end: at + BLOCK + size + padding };
    metaStart = undefined;
    override = {};
    state = { kind: 'data', remaining: size, padding, ...(keep(name, size) ? { collect: [] } : {}), meta: false };
    entries.push(current);
    if (size === 0) state = { kind: 'header' };
  }

  function onMetaData(data: Buffer): void {
    if (metaKind === 'L') {
      override.path = data.toString('utf8').replace(/\0.*$/s, '');
      return;
    }
    if (metaKind !== 'x') return;
    for (const record of data.toString('utf8').split('\n')) {
      const match = /^\d+ ([^=]+)=(.*)$/s.exec(record);
      if (match?.[1] === 'path') override.path = match[2]!;
      if (match?.[1] === 'size') override.size = Number(match[2]);
    }
  }

  return {
    entries,
    push(chunk: Buffer): void {
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (!done) {
        if (state.kind === 'header') {
          if (pendingBytes < BLOCK) return;
          const at = offset;
          onHeader(take(BLOCK), at);
          continue;
        }
        const want = state.remaining > 0 ? state.remaining : state.padding;
        if (want === 0) {
          if (state.meta && state.collect) onMetaData(Buffer.concat(state.collect));
          else if (state.collect && current) current.data = Buffer.concat(state.collect);
          state = { kind: 'header' };
          continue;
        }
        if (pendingBytes === 0) return;
        const part = take(Math.min(want, pendingBytes));
        if (state.remaining > 0) {
          state.collect?.push(Buffer.from(part));
          state.remaining -= part.length;
        } else {
          state.padding -= part.length;
        }
      }
    },
  };
}

/** A numeric header field: octal text, or GNU base-256 (high bit set) for large sizes. */
function readNumber(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = field.toString('ascii').replace(/[\0 ].*$/s, '').trim();
  return text ? Number.parseInt(text, 8) : 0;
}
