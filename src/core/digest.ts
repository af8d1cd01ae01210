import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

/*
 * Digests and unique names for the start-up path. Loading node:crypto costs
 * ~15 ms of CPU (a sixth of Node's own start-up), and every command names a
 * control socket, a project and a temp file: these give the same SHA-256 as
 * node:crypto from a 6 KB module, and unique names without it. Secrets,
 * ciphers and tokens someone must not guess keep using node:crypto.
 */

/** SHA-256 of `text` (UTF-8) as lowercase hex: equal to createHash('sha256').update(text).digest('hex'). */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/**
 * `bytes` random bytes as hex, for names that must only differ from each
 * other (temp files, sockets, run tokens): never for a secret or a token
 * someone must not guess — that is node:crypto's randomBytes.
 */
export function uniqueHex(bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++) out += Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return out;
}
