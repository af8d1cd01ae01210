import { sha256Hex } from '../../core/digest.ts';

/**
 * A project's identity on every host: its name plus a short hash of its
 * local path, so two checkouts named `model` never share a folder or a
 * container. Everything derived here is safe as a file or container name.
 */
export interface ProjectIdentity {
  /** Absolute local path: the key in the state database. */
  localPath: string;
  /** The configured project name, as typed. */
  name: string;
  /** `model-3f2a9c1d`: container names, remote folder names, image tags. */
  slug: string;
}

export function projectIdentity(localPath: string, name: string): ProjectIdentity {
  const hash = sha256Hex(localPath).slice(0, 8);
  const safe = name.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+/, '').replace(/[-.]+$/, '').slice(0, 40) || 'project';
  return { localPath, name, slug: `${safe}-${hash}` };
}

/** The project's folder on a host, relative to the remote user's home. */
export function defaultRemoteDir(identity: ProjectIdentity): string {
  return `mltoolbox/${identity.slug}`;
}

/** What a target is in a multi-host connect: the first is the head, the others its workers. */
export type TargetRole = 'head' | 'worker';

/** A worker's container has its own name: a head and a worker may share one engine (one host, two targets). */
export function containerName(identity: ProjectIdentity, role: TargetRole = 'head'): string {
  return role === 'worker' ? `mlt-${identity.slug}-worker` : `mlt-${identity.slug}`;
}
