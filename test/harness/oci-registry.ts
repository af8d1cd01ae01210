import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parse as parseJsonc } from 'jsonc-parser';
import { tarStream, type TarEntry } from '../../src/services/containers/tar.ts';

/**
 * A small OCI registry for tests, on 127.0.0.1: the part of the distribution
 * API that pulls use (`/v2/`, manifests by tag or digest, blobs, tags list),
 * optional token auth (401 + WWW-Authenticate: Bearer → /token with Basic
 * credentials), and plain files under `/files/` for tarball features.
 * Every request is logged so tests can assert what was (not) fetched.
 */
export interface TestRegistry {
  /** `127.0.0.1:PORT`: the registry part of a feature reference. */
  host: string;
  /** `http://127.0.0.1:PORT/files/NAME` for a served file. */
  fileUrl(name: string): string;
  /** Requests seen, `GET /v2/…` (without the token endpoint's query). */
  requests: string[];
  /** The Authorization header of every request ('' when none), in order. */
  authorizations: string[];
  /** Publishes a feature folder under `namespace/id` with the given tags, per features-distribution. */
  pushFeature(repository: string, folder: string, tags: readonly string[]): Promise<{ manifestDigest: string; layerDigest: string }>;
  /** Serves bytes at /files/NAME. */
  serveFile(name: string, bytes: Buffer): void;
  close(): Promise<void>;
}

export const FEATURE_MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.devcontainers',
  layer: 'application/vnd.devcontainers.layer.v1+tar',
} as const;

const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A feature folder as a tar (what features-distribution publishes as the layer; gzip it for a .tgz release). */
export async function packFeature(folder: string, options: { gzip?: boolean } = {}): Promise<Buffer> {
  const entries: TarEntry[] = [];
  const mtime = new Date(0);
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const info = await stat(path);
      const rel = `./${relative(folder, path)}`;
      if (info.isDirectory()) {
        entries.push({ type: 'directory', path: rel, mode: 0o755, mtime });
        await walk(path);
      } else {
        entries.push({ type: 'data', path: rel, mode: info.mode & 0o777, mtime, data: await readFile(path) });
      }
    }
  };
  await walk(folder);
  const chunks: Buffer[] = [];
  for await (const chunk of tarStream(entries)) chunks.push(chunk);
  const tar = Buffer.concat(chunks);
  return options.gzip ? gzipSync(tar) : tar;
}

/**
 * `auth`: pulls need a token, given only for that login (a private registry).
 * `anonymous`: pulls need a token, given to anyone who asks without a login (as ghcr.io does for public packages).
 */
export async function startTestRegistry(options: { auth?: { username: string; password: string }; anonymous?: boolean } = {}): Promise<TestRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, Map<string, Buffer>>();
  const files = new Map<string, Buffer>();
  const tokens = new Set<string>();
  const requests: string[] = [];
  const authorizations: string[] = [];
  let host = '';

  const send = (res: ServerResponse, status: number, body: Buffer | string = '', headers: Record<string, string> = {}) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { 'content-length': String(bytes.length), ...headers });
    res.end(bytes);
  };

  const authorized = (req: IncomingMessage) => {
    if (!options.auth && !options.anonymous) return true;
    const header = req.headers.authorization ?? '';
    return header.startsWith('Bearer ') && tokens.has(header.slice(7));
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://${host}`);
    requests.push(`${req.method} ${url.pathname}`);
    authorizations.push(req.headers.authorization ?? '');
    if (url.pathname.startsWith('/files/')) {
      const file = files.get(url.pathname.slice('/files/'.length));
      return file ? send(res, 200, file, { 'content-type': 'application/gzip' }) : send(res, 404, 'not found');
    }
    if (url.pathname === '/token') {
      const expected = options.auth ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` : undefined;
      if (req.headers.authorization !== expected) return send(res, 401, '{"errors":[{"code":"UNAUTHORIZED"}]}');
      const token = randomBytes(16).toString('hex');
      tokens.add(token);
      return send(res, 200, JSON.stringify({ token }), { 'content-type': 'application/json' });
    }
    if (!url.pathname.startsWith('/v2/')) return send(res, 404);
    if (!authorized(req)) {
      const scope = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\//.exec(url.pathname)?.[1];
      return send(res, 401, '{"errors":[{"code":"UNAUTHORIZED"}]}', {
        'www-authenticate': `Bearer realm="http://${host}/token",service="test-registry"${scope ? `,scope="repository:${scope}:pull"` : ''}`,
        'content-type': 'application/json',
      });
    }
    if (url.pathname === '/v2/') return send(res, 200, '{}');
    const match = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.+)$/.exec(url.pathname);
    if (!match) return send(res, 404);
    const [, repository, kind, reference] = match as unknown as [string, string, string, string];
    if (kind === 'tags') {
      const tags = [...(manifests.get(repository)?.keys() ?? [])].filter((t) => !t.startsWith('sha256:'));
      return send(res, 200, JSON.stringify({ name: repository, tags }), { 'content-type': 'application/json' });
    }
    if (kind === 'manifests') {
      const manifest = manifests.get(repository)?.get(reference);
      if (!manifest) return send(res, 404, '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', { 'content-type': 'application/json' });
      return send(res, 200, req.method === 'HEAD' ? '' : manifest, { 'content-type': FEATURE_MEDIA_TYPES.manifest, 'docker-content-digest': digestOf(manifest) });
    }
    const blob = blobs.get(reference);
    return blob ? send(res, 200, blob, { 'content-type': 'application/octet-stream', 'docker-content-digest': reference }) : send(res, 404, '{"errors":[{"code":"BLOB_UNKNOWN"}]}');
  };

  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      send(res, 500, String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  return {
    host,
    requests,
    authorizations,
    fileUrl: (name) => `http://${host}/files/${name}`,
    serveFile: (name, bytes) => void files.set(name, bytes),
    async pushFeature(repository, folder, tags) {
      const metadata = await readFile(join(folder, 'devcontainer-feature.json'), 'utf8');
      const parsed = parseJsonc(metadata) as { id: string };
      const id = parsed.id;
      const layer = await packFeature(folder);
      const config = Buffer.from('{}');
      blobs.set(digestOf(layer), layer);
      blobs.set(digestOf(config), config);
      const manifest = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: FEATURE_MEDIA_TYPES.manifest,
        config: { mediaType: FEATURE_MEDIA_TYPES.config, digest: digestOf(config), size: config.length },
        layers: [{ mediaType: FEATURE_MEDIA_TYPES.layer, digest: digestOf(layer), size: layer.length, annotations: { 'org.opencontainers.image.title': `devcontainer-feature-${id}.tgz` } }],
        annotations: { 'dev.containers.metadata': JSON.stringify(parsed), 'com.github.package.type': 'devcontainer_feature' },
      }));
      const byRef = manifests.get(repository) ?? new Map<string, Buffer>();
      for (const tag of tags) byRef.set(tag, manifest);
      byRef.set(digestOf(manifest), manifest);
      manifests.set(repository, byRef);
      return { manifestDigest: digestOf(manifest), layerDigest: digestOf(layer) };
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
