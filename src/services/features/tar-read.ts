import { gunzipSync } from 'node:zlib';

/**
 * Reads a feature archive (tar, or gzip'd tar: OCI layers are plain tar,
 * release tarballs are .tgz) into memory. Features are small; the reader
 * is the counterpart of containers/tar.ts's writer: files, folders and
 * symlinks, ustar prefixes, pax and GNU long names. Entries that would land
 * outside the feature's folder (absolute, `..`) are refused.
 */
export interface ArchiveEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  data?: Buffer;
  target?: string;
}

export class ArchiveError extends Error {}

const BLOCK = 512;
const MAX_TOTAL = 512 * 1024 * 1024;

export function readArchive(bytes: Buffer): ArchiveEntry[] {
  const tar = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes, { maxOutputLength: MAX_TOTAL }) : bytes;
  const entries: ArchiveEntry[] = [];
  let offset = 0;
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((b) => b === 0)) break;
    if (!checksumOk(header)) throw new ArchiveError(`corrupt tar header at byte ${offset}`);
    const typeflag = String.fromCharCode(header[156]!);
    const size = pax.size !== undefined ? Number(pax.size) : octal(header.subarray(124, 136));
    if (!Number.isFinite(size) || size < 0 || offset + BLOCK + size > tar.length) throw new ArchiveError(`truncated tar entry at byte ${offset}`);
    const data = tar.subarray(offset + BLOCK, offset + BLOCK + size);
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;

    if (typeflag === 'x') {
      pax = { ...pax, ...paxFields(data) };
      continue;
    }
    if (typeflag === 'g') continue;
    if (typeflag === 'L') {
      longName = cString(data);
      continue;
    }
    if (typeflag === 'K') {
      longLink = cString(data);
      continue;
    }
    const prefix = cString(header.subarray(345, 500));
    const name = pax.path ?? longName ?? (prefix ? `${prefix}/${cString(header.subarray(0, 100))}` : cString(header.subarray(0, 100)));
    const linkname = pax.linkpath ?? longLink ?? cString(header.subarray(157, 257));
    pax = {};
    longName = undefined;
    longLink = undefined;
    const path = safePath(name);
    const mode = octal(header.subarray(100, 108)) & 0o7777;
    if (path === '') continue;
    if (typeflag === '0' || typeflag === '\0' || typeflag === '7') entries.push({ path, type: 'file', mode, data: Buffer.from(data) });
    else if (typeflag === '5') entries.push({ path, type: 'directory', mode });
    else if (typeflag === '2') {
      if (linkname.startsWith('/') || safeJoin(path, linkname) === undefined) throw new ArchiveError(`symlink ${path} points outside the feature (${linkname})`);
      entries.push({ path, type: 'symlink', mode, target: linkname });
    } else if (typeflag === '1') {
      const original = entries.find((e) => e.path === safePath(linkname) && e.type === 'file');
      if (original) entries.push({ ...original, path });
    }
    // Devices, fifos and the like have no place in a feature.
  }
  return entries;
}

function checksumOk(header: Buffer): boolean {
  const stored = octal(header.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
  return sum === stored;
}

function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

function octal(bytes: Buffer): number {
  const text = cString(bytes).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function paxFields(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let text = data.toString('utf8');
  while (text.length > 0) {
    const space = text.indexOf(' ');
    const length = Number(text.slice(0, space));
    if (space < 0 || !Number.isFinite(length) || length <= 0) break;
    const record = Buffer.from(text).subarray(0, length).toString('utf8');
    const body = record.slice(space + 1, -1);
    const eq = body.indexOf('=');
    if (eq > 0) out[body.slice(0, eq)] = body.slice(eq + 1);
    text = Buffer.from(text).subarray(length).toString('utf8');
  }
  return out;
}

/** `./a/b/` → `a/b`; refuses absolute paths and `..`. */
function safePath(name: string): string {
  if (name.startsWith('/')) throw new ArchiveError(`the archive holds an absolute path (${name})`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ArchiveError(`the archive holds a path outside its folder (${name})`);
  return parts.join('/');
}

function safeJoin(from: string, link: string): string | undefined {
  const parts = from.split('/').slice(0, -1);
  for (const part of link.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/');
}
