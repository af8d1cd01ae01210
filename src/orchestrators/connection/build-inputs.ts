import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';

/**
 * What a Dockerfile COPYs from the build context, folded into the image tag,
 * so editing requirements.txt rebuilds the image. Only named sources count:
 * `COPY . .` (the whole project) is left out on purpose: the project is
 * mounted into the dev container, and every source edit must not rebuild.
 * Globs, variables, URLs and `--from` stages are left out too.
 */
const MAX_ENTRIES = 10_000;
const HASH_CONTENT_BELOW = 1024 * 1024;

/** Joins `\`-continued lines; drops comments. */
function instructions(dockerfile: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of dockerfile.split(/\r?\n/)) {
    if (current === '' && /^\s*#/.test(raw)) continue;
    if (/\\\s*$/.test(raw)) {
      current += `${raw.replace(/\\\s*$/, '')} `;
      continue;
    }
    out.push(`${current}${raw}`.trim());
    current = '';
  }
  if (current.trim() !== '') out.push(current.trim());
  return out.filter((line) => line !== '');
}

/** The context-relative sources of COPY/ADD instructions that name files or folders. */
export function copiedSources(dockerfile: string): string[] {
  const sources: string[] = [];
  for (const line of instructions(dockerfile)) {
    const match = /^(COPY|ADD)\s+(.*)$/i.exec(line);
    if (!match) continue;
    let rest = match[2]!.trim();
    const flags = rest.match(/^(--\S+\s+)*/)?.[0] ?? '';
    if (/--from=/i.test(flags) || rest.includes('<<')) continue;
    rest = rest.slice(flags.length);
    let words: string[];
    if (rest.startsWith('[')) {
      try {
        words = JSON.parse(rest) as string[];
      } catch {
        continue;
      }
    } else {
      words = rest.split(/\s+/);
    }
    for (const source of words.slice(0, -1)) {
      if (/[*?[$]/.test(source) || /^[a-z]+:\/\//i.test(source)) continue;
      const clean = source.replace(/^\.\//, '').replace(/\/+$/, '');
      if (clean === '' || clean === '.') continue;
      sources.push(clean);
    }
  }
  return [...new Set(sources)];
}

/** A hash of the named sources: small files by content, others by size and mtime, folders by their listing. */
export async function copiedFilesFingerprint(dockerfile: string, context: string): Promise<string> {
  const hash = createHash('sha256');
  let entries = 0;
  const root = resolve(context);

  async function add(path: string): Promise<void> {
    if (entries++ >= MAX_ENTRIES) return;
    const info = await stat(path).catch(() => undefined);
    const name = relative(root, path);
    if (!info) {
      hash.update(`${name}\0missing\n`);
    } else if (info.isDirectory()) {
      hash.update(`${name}\0dir\n`);
      const children = (await readdir(path).catch(() => [] as string[])).sort();
      for (const child of children) await add(join(path, child));
    } else if (info.size < HASH_CONTENT_BELOW) {
      hash.update(`${name}\0`).update(await readFile(path).catch(() => Buffer.alloc(0))).update('\n');
    } else {
      hash.update(`${name}\0${info.size}\0${info.mtimeMs}\n`);
    }
  }

  for (const source of copiedSources(dockerfile)) {
    const path = resolve(root, source);
    const inside = relative(root, path);
    if (inside.startsWith('..') || isAbsolute(inside)) continue;
    await add(path);
  }
  return hash.digest('hex');
}
