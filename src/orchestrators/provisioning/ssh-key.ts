import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { runProcess, type ProcessRunner } from '../../infrastructure/process.ts';

/**
 * The key pair provisioned instances accept: provision.ssh_public_key, else
 * the user's ~/.ssh/id_ed25519, else an ed25519 pair mltoolbox generates once
 * (no passphrase, 0600, in its data folder). Only the public half ever
 * leaves this machine.
 */
export interface InstanceKey {
  publicKey: string;
  privateKeyFile: string;
  source: 'config' | 'user' | 'generated';
}

const expand = (path: string, home: string) => (path.startsWith('~/') ? join(home, path.slice(2)) : path);

async function readPair(publicFile: string): Promise<{ publicKey: string; privateKeyFile: string }> {
  const privateKeyFile = publicFile.replace(/\.pub$/, '');
  if (privateKeyFile === publicFile || !existsSync(privateKeyFile)) {
    throw new UserError('USAGE', `no private key next to ${publicFile}`, 'provision.ssh_public_key names a .pub file whose private key sits beside it (same name without .pub)');
  }
  const publicKey = (await readFile(publicFile, 'utf8')).trim();
  // One line of `type base64 [comment]`: anything else would inject into the provider's authorized_keys.
  if (!/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/=]+( [^\r\n]*)?$/.test(publicKey)) {
    throw new UserError('USAGE', `${publicFile} is not an OpenSSH public key`, 'point provision.ssh_public_key at a .pub file, e.g. ~/.ssh/id_ed25519.pub');
  }
  return { publicKey, privateKeyFile };
}

export async function instanceKey(options: { configured?: string; homeDir: string; dataDir: string; runner?: ProcessRunner }): Promise<InstanceKey> {
  if (options.configured) {
    const file = expand(options.configured, options.homeDir);
    if (!existsSync(file)) throw new UserError('USAGE', `provision.ssh_public_key names ${file}, which does not exist`, 'fix the path, or remove the key to use ~/.ssh/id_ed25519.pub');
    return { ...(await readPair(file)), source: 'config' };
  }
  const user = join(options.homeDir, '.ssh', 'id_ed25519.pub');
  if (existsSync(user) && existsSync(user.slice(0, -4))) return { ...(await readPair(user)), source: 'user' };
  const dir = join(options.dataDir, 'keys');
  const generated = join(dir, 'id_ed25519');
  if (!existsSync(`${generated}.pub`)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const result = await (options.runner ?? runProcess)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'mltoolbox-provisioned', '-f', generated], { timeoutMs: 30_000 });
    if (result.code !== 0) throw new UserError('USAGE', `ssh-keygen could not create ${generated}: ${result.stderr.trim()}`, 'install OpenSSH (ssh-keygen), or set provision.ssh_public_key');
  }
  return { ...(await readPair(`${generated}.pub`)), source: 'generated' };
}
