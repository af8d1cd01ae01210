import { createHash } from 'node:crypto';
import type { RegistryCredentials } from './credentials.ts';

/**
 * The part of the OCI distribution API a feature pull needs: a manifest by
 * tag or digest, and a blob by digest, with the registry token flow
 * (WWW-Authenticate: Bearer → token endpoint) and Basic auth. Registries on
 * localhost / 127.0.0.0/8 / ::1 are reached over plain HTTP, as Docker does.
 */
export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.devcontainers',
  layer: 'application/vnd.devcontainers.layer.v1+tar',
  /** Manifest annotation holding the feature's devcontainer-feature.json. */
  metadataAnnotation: 'dev.containers.metadata',
} as const;

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface OciManifest {
  schemaVersion: number;
  mediaType?: string;
  config: OciDescriptor;
  layers: OciDescriptor[];
  annotations?: Record<string, string>;
}

export type RegistryFailure = 'network' | 'auth' | 'not-found' | 'invalid';

export class RegistryError extends Error {
  readonly failure: RegistryFailure;
  readonly status: number | undefined;

  constructor(message: string, failure: RegistryFailure, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.failure = failure;
    this.status = status;
  }
}

export interface RegistryClientOptions {
  credentials(registry: string): Promise<RegistryCredentials | undefined>;
  /** Per request. Default 30 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface RegistryClient {
  manifest(registry: string, repository: string, reference: string): Promise<{ digest: string; manifest: OciManifest }>;
  blob(registry: string, repository: string, digest: string): Promise<Buffer>;
}

export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1';
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

const MAX_REDIRECTS = 5;

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  /** Bearer tokens by registry + repository (scope). */
  const tokens = new Map<string, string>();
  const credentialCache = new Map<string, Promise<RegistryCredentials | undefined>>();
  const credentialsFor = (registry: string) => {
    let found = credentialCache.get(registry);
    if (!found) credentialCache.set(registry, (found = options.credentials(registry)));
    return found;
  };

  const base = (registry: string) => `${isLoopbackRegistry(registry) ? 'http' : 'https'}://${registry}`;

  async function send(url: string, headers: Record<string, string>): Promise<Response> {
    let current = url;
    for (let i = 0; i <= MAX_REDIRECTS; i++) {
      let response: Response;
      try {
        response = await doFetch(current, { headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        throw new RegistryError(`cannot reach ${new URL(current).host} (${networkReason(error, timeoutMs)})`, 'network', undefined, { cause: error });
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        const next = new URL(location, current);
        // Blob storage redirects are pre-signed: the registry's credentials must not follow them.
        if (next.host !== new URL(current).host) delete headers.authorization;
        current = next.toString();
        continue;
      }
      return response;
    }
    throw new RegistryError(`too many redirects from ${url}`, 'network');
  }

  async function authorize(registry: string, repository: string, challenge: string): Promise<string | undefined> {
    const credentials = await credentialsFor(registry);
    const scheme = challenge.split(' ')[0]?.toLowerCase();
    if (scheme === 'basic') {
      if (!credentials) return undefined;
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    if (scheme !== 'bearer') return undefined;
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm) return undefined;
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${repository}:pull`);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (credentials) headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    const response = await send(url.toString(), headers);
    if (response.status === 401 || response.status === 403) {
      throw new RegistryError(credentials
        ? `${registry} refused the login from ${credentials.source} (HTTP ${response.status})`
        : `${registry} needs a login and no credentials were found for it (HTTP ${response.status})`, 'auth', response.status);
    }
    if (!response.ok) throw new RegistryError(`${registry}'s token service answered HTTP ${response.status}`, 'auth', response.status);
    const body = (await response.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    return token ? `Bearer ${token}` : undefined;
  }

  async function get(registry: string, repository: string, path: string, accept: string): Promise<Buffer> {
    const url = `${base(registry)}/v2/${repository}/${path}`;
    const scope = `${registry}/${repository}`;
    const headers = (): Record<string, string> => ({ accept, ...(tokens.has(scope) ? { authorization: tokens.get(scope)! } : {}) });
    let response = await send(url, headers());
    if (response.status === 401) {
      const challenge = response.headers.get('www-authenticate') ?? '';
      await response.arrayBuffer().catch(() => undefined);
      const authorization = await authorize(registry, repository, challenge);
      if (authorization) {
        tokens.set(scope, authorization);
        response = await send(url, headers());
      }
    }
    if (response.status === 401 || response.status === 403) {
      const credentials = await credentialsFor(registry);
      throw new RegistryError(`${registry} refused access to ${repository} (HTTP ${response.status}${credentials ? `, logged in with ${credentials.source}` : ', no credentials found'})`, 'auth', response.status);
    }
    if (response.status === 404) throw new RegistryError(`${registry} has no ${repository}/${path.replace(/^manifests\//, 'tag ')}`, 'not-found', 404);
    if (!response.ok) throw new RegistryError(`${registry} answered HTTP ${response.status} for ${repository}/${path}`, response.status >= 500 ? 'network' : 'invalid', response.status);
    return Buffer.from(await response.arrayBuffer());
  }

  return {
    async manifest(registry, repository, reference) {
      const bytes = await get(registry, repository, `manifests/${reference}`, `${MEDIA_TYPES.manifest}, application/vnd.docker.distribution.manifest.v2+json`);
      const digest = sha256Digest(bytes);
      if (reference.startsWith('sha256:') && reference !== digest) {
        throw new RegistryError(`${registry}/${repository}@${reference}: the manifest's content does not match its digest`, 'invalid');
      }
      let manifest: OciManifest;
      try {
        manifest = JSON.parse(bytes.toString('utf8')) as OciManifest;
      } catch (error) {
        throw new RegistryError(`${registry}/${repository}:${reference} is not a JSON manifest`, 'invalid', undefined, { cause: error });
      }
      if (!Array.isArray(manifest.layers) || manifest.layers.length === 0) {
        throw new RegistryError(`${registry}/${repository}:${reference} has no layers: it is not a Dev Container Feature`, 'invalid');
      }
      return { digest, manifest };
    },
    async blob(registry, repository, digest) {
      const bytes = await get(registry, repository, `blobs/${digest}`, '*/*');
      if (sha256Digest(bytes) !== digest) throw new RegistryError(`${registry}/${repository}: blob ${digest} does not match its digest (corrupt download)`, 'invalid');
      return bytes;
    },
  };
}

/** Why a fetch() failed, in the words a user can act on: ECONNREFUSED, ENOTFOUND, a timeout, a TLS problem. */
export function networkReason(error: unknown, timeoutMs: number): string {
  let current: unknown = error;
  let deepest = (error as Error).message;
  for (let depth = 0; depth < 5 && current; depth++) {
    const e = current as { name?: string; code?: string; message?: string; errors?: unknown[]; cause?: unknown };
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer in ${timeoutMs / 1000} s`;
    if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
    if (e.message) deepest = e.message;
    current = e.cause ?? e.errors?.[0];
  }
  return deepest;
}
