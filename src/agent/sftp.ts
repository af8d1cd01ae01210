import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, rename, rm, rmdir, stat, symlink, truncate, chmod, utimes, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Attributes, FileEntry, SFTPWrapper } from 'ssh2';
import type { MountPoint } from '../services/containers/types.ts';
import { throughBindMount } from './locate.ts';

/**
 * SFTP for the container, served on the host: a container path under a
 * bind mount (the project folder, environment.volumes binds) is the same
 * file on the host, so scp/sftp/editors read and write it directly — no
 * sftp-server needed in the image. Paths outside bind mounts are refused
 * with a message saying so.
 */

/** ssh2 is CommonJS: its exports are the default export when imported from ESM. */
export async function loadSsh2(): Promise<typeof import('ssh2')> {
  const mod = (await import('ssh2')) as typeof import('ssh2') & { default?: typeof import('ssh2') };
  return mod.default ?? mod;
}

function attrsOf(s: import('node:fs').Stats): Attributes {
  return { mode: s.mode, uid: s.uid, gid: s.gid, size: s.size, atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) };
}

function longname(name: string, s: import('node:fs').Stats): string {
  const type = s.isDirectory() ? 'd' : s.isSymbolicLink() ? 'l' : '-';
  const bits = 'rwxrwxrwx'.split('').map((c, i) => ((s.mode >> (8 - i)) & 1 ? c : '-')).join('');
  return `${type}${bits} 1 ${s.uid} ${s.gid} ${s.size} ${new Date(s.mtimeMs).toISOString().slice(0, 10)} ${name}`;
}

export async function serveSftp(sftp: SFTPWrapper, mounts: readonly MountPoint[], workdir: string): Promise<void> {
  const { STATUS_CODE, OPEN_MODE } = (await loadSsh2()).utils.sftp;
  const files = new Map<number, FileHandle>();
  const dirs = new Map<number, { path: string; done: boolean }>();
  let next = 0;
  const newHandle = () => {
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(next++);
    return buf;
  };
  const handleId = (buf: Buffer) => (buf.length === 4 ? buf.readUInt32BE(0) : -1);
  const resolve = (path: string) => posix.resolve(workdir, path || '.');
  const fail = (reqid: number, error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    const status = code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : code === 'EACCES' || code === 'EPERM' || code === 'OUTSIDE' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE;
    sftp.status(reqid, status, (error as Error).message);
  };
  const host = (path: string): string => {
    const mapped = throughBindMount(mounts, resolve(path), 'destination')?.path;
    if (mapped === undefined) throw Object.assign(new Error(`${resolve(path)} is outside the container's bind mounts (mlt's sftp reaches the project folder; use ssh for the rest)`), { code: 'OUTSIDE' });
    return mapped;
  };
  const run = (reqid: number, work: () => Promise<void>) => void work().catch((error: unknown) => fail(reqid, error));
  const ok = (reqid: number) => sftp.status(reqid, STATUS_CODE.OK);
  const setAttrs = async (path: string, attrs: Attributes) => {
    if (attrs.mode !== undefined) await chmod(path, attrs.mode & 0o7777);
    if (attrs.size !== undefined) await truncate(path, attrs.size);
    if (attrs.atime !== undefined && attrs.mtime !== undefined) await utimes(path, attrs.atime, attrs.mtime);
  };

  sftp.on('REALPATH', (reqid, path) => sftp.name(reqid, [{ filename: resolve(path), longname: resolve(path), attrs: {} as Attributes }]));
  sftp.on('OPEN', (reqid, filename, flags, attrs) => run(reqid, async () => {
    let mode = 0;
    const rw = (flags & OPEN_MODE.READ) && (flags & OPEN_MODE.WRITE);
    mode |= rw ? constants.O_RDWR : flags & OPEN_MODE.WRITE ? constants.O_WRONLY : constants.O_RDONLY;
    if (flags & OPEN_MODE.APPEND) mode |= constants.O_APPEND;
    if (flags & OPEN_MODE.CREAT) mode |= constants.O_CREAT;
    if (flags & OPEN_MODE.TRUNC) mode |= constants.O_TRUNC;
    if (flags & OPEN_MODE.EXCL) mode |= constants.O_EXCL;
    const file = await open(host(filename), mode, attrs.mode === undefined ? 0o644 : attrs.mode & 0o7777);
    const handle = newHandle();
    files.set(handleId(handle), file);
    sftp.handle(reqid, handle);
  }));
  sftp.on('READ', (reqid, handle, offset, length) => run(reqid, async () => {
    const file = files.get(handleId(handle));
    if (!file) return void sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    const buf = Buffer.alloc(Math.min(length, 256 * 1024));
    const { bytesRead } = await file.read(buf, 0, buf.length, offset);
    if (bytesRead === 0) sftp.status(reqid, STATUS_CODE.EOF);
    else sftp.data(reqid, buf.subarray(0, bytesRead));
  }));
  sftp.on('WRITE', (reqid, handle, offset, data) => run(reqid, async () => {
    const file = files.get(handleId(handle));
    if (!file) return void sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    await file.write(data, 0, data.length, offset);
    ok(reqid);
  }));
  sftp.on('FSTAT', (reqid, handle) => run(reqid, async () => {
    const file = files.get(handleId(handle));
    if (!file) return void sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    sftp.attrs(reqid, attrsOf(await file.stat()));
  }));
  sftp.on('FSETSTAT', (reqid, handle, attrs) => run(reqid, async () => {
    const file = files.get(handleId(handle));
    if (!file) return void sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    if (attrs.mode !== undefined) await file.chmod(attrs.mode & 0o7777);
    if (attrs.size !== undefined) await file.truncate(attrs.size);
    if (attrs.atime !== undefined && attrs.mtime !== undefined) await file.utimes(attrs.atime, attrs.mtime);
    ok(reqid);
  }));
  sftp.on('CLOSE', (reqid, handle) => run(reqid, async () => {
    const id = handleId(handle);
    const file = files.get(id);
    files.delete(id);
    dirs.delete(id);
    await file?.close();
    ok(reqid);
  }));
  sftp.on('OPENDIR', (reqid, path) => run(reqid, async () => {
    const target = host(path);
    if (!(await stat(target)).isDirectory()) throw Object.assign(new Error(`${path} is not a folder`), { code: 'ENOTDIR' });
    const handle = newHandle();
    dirs.set(handleId(handle), { path: target, done: false });
    sftp.handle(reqid, handle);
  }));
  sftp.on('READDIR', (reqid, handle) => run(reqid, async () => {
    const dir = dirs.get(handleId(handle));
    if (!dir) return void sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    if (dir.done) return void sftp.status(reqid, STATUS_CODE.EOF);
    dir.done = true;
    const names: FileEntry[] = [];
    for (const name of ['.', '..', ...(await readdir(dir.path))]) {
      const s = await lstat(posix.join(dir.path, name)).catch(() => undefined);
      if (s) names.push({ filename: name, longname: longname(name, s), attrs: attrsOf(s) });
    }
    sftp.name(reqid, names);
  }));
  sftp.on('STAT', (reqid, path) => run(reqid, async () => sftp.attrs(reqid, attrsOf(await stat(host(path))))));
  sftp.on('LSTAT', (reqid, path) => run(reqid, async () => sftp.attrs(reqid, attrsOf(await lstat(host(path))))));
  sftp.on('SETSTAT', (reqid, path, attrs) => run(reqid, async () => {
    await setAttrs(host(path), attrs);
    ok(reqid);
  }));
  sftp.on('REMOVE', (reqid, path) => run(reqid, async () => {
    await rm(host(path));
    ok(reqid);
  }));
  sftp.on('RMDIR', (reqid, path) => run(reqid, async () => {
    await rmdir(host(path));
    ok(reqid);
  }));
  sftp.on('MKDIR', (reqid, path, attrs) => run(reqid, async () => {
    await mkdir(host(path), { mode: attrs.mode === undefined ? 0o755 : attrs.mode & 0o7777 });
    ok(reqid);
  }));
  sftp.on('RENAME', (reqid, from, to) => run(reqid, async () => {
    await rename(host(from), host(to));
    ok(reqid);
  }));
  sftp.on('READLINK', (reqid, path) => run(reqid, async () => {
    const target = await readlink(host(path));
    sftp.name(reqid, [{ filename: target, longname: target, attrs: {} as Attributes }]);
  }));
  sftp.on('SYMLINK', (reqid, linkPath, targetPath) => run(reqid, async () => {
    await symlink(targetPath, host(linkPath));
    ok(reqid);
  }));
  // The client is done: like sshd when sftp-server exits, report exit status 0
  // (scp counts a missing one as a failure), then close our side.
  sftp.on('end', () => {
    const channel = sftp as unknown as { _protocol?: { exitStatus(id: number, status: number): void }; outgoing?: { id: number } };
    if (channel._protocol && channel.outgoing) channel._protocol.exitStatus(channel.outgoing.id, 0);
    sftp.end();
  });
  sftp.on('close', () => {
    for (const file of files.values()) void file.close().catch(() => {});
    files.clear();
  });
}
