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
