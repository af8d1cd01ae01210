import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { ContainerManager } from '../../services/containers/types.ts';
import { copiedFilesFingerprint } from './build-inputs.ts';
import type { ContainerPlan } from './container-plan.ts';
import { transferImage, type TransferResult } from '../../services/images/transfer.ts';
import type { Place, PlaceDeps } from './place.ts';

export type ImageAction = 'used' | 'pulled' | 'built' | 'reused-build' | 'offline-default' | 'sent';

/**
 * The offline default image (`mltoolbox image bootstrap` with its defaults) on
 * this engine, built when missing.
 */
export type OfflineDefaultImage = (containers: ContainerManager) => Promise<{ tag: string; action: 'cached' | 'built' }>;

export interface ImageStepDeps {
  env: NodeJS.ProcessEnv;
  reporter: Reporter;
  /** Used only when nobody configured an image and the default one cannot be pulled. */
  offlineDefaultImage?: OfflineDefaultImage;
  /** environment.image_transfer (default auto). */
  transfer?: 'auto' | 'always' | 'never';
  /** A remote place: sends the image from this machine's engine; resolves undefined when this machine lacks it too. */
  sendFromLocal?: (reference: string) => Promise<unknown>;
}

/**
 * connect's image step: the configured image when the engine has it, else
 * pulled once; a Dockerfile built under a tag of its inputs (reused while they
 * are unchanged). Only mltoolbox's own default image is ever replaced (by the
 * offline default), and only when it cannot be pulled.
 */
export async function ensureImage(deps: ImageStepDeps, containers: ContainerManager, plan: ContainerPlan, force: boolean): Promise<{ image: string; action: ImageAction }> {
  const { reporter } = deps;
  if (plan.image.kind === 'image') {
    const reference = plan.image.reference;
    if (await containers.imageId(reference)) return { image: reference, action: 'used' };
    const transfer = deps.sendFromLocal && deps.transfer !== 'never' ? deps.sendFromLocal : undefined;
    const send = async () => transfer && (await transfer(reference)) !== undefined;
    // always: this machine's copy wins over the registry (a locally built or private image).
    if (deps.transfer === 'always' && (await send())) return { image: reference, action: 'sent' };
    const offline = plan.image.isDefault && deps.offlineDefaultImage ? deps.offlineDefaultImage : undefined;
    const useOffline = async (why: string) => {
      reporter.warn(`the default image ${reference} ${why}: using the offline default image instead (Debian with Python, made by mltoolbox image bootstrap; docs/images.md). Set environment.base_image to choose an image.`);
      const made = await offline!(containers);
      return { image: made.tag, action: 'offline-default' as const };
    };
    if (deps.env.MLTOOLBOX_NO_PULL) {
      if (deps.transfer !== 'always' && (await send())) return { image: reference, action: 'sent' };
      if (offline) return useOffline('is not here and pulling is off (MLTOOLBOX_NO_PULL)');
      // Offline machines and the test suite: never reach for a registry.
      throw new UserError('IMAGE_NOT_FOUND', `the image ${reference} is not on the Docker host and pulling is off (MLTOOLBOX_NO_PULL is set)`,
        `load it there first (docker load / docker pull ${reference}), or unset MLTOOLBOX_NO_PULL`);
    }
    // First use of a base image on this host: pull it once (later connects find it).
    try {
      await reporter.task(`Pulling ${reference}`, (task) => containers.pull(reference, (line) => task.update(line.slice(0, 60))));
    } catch (error) {
      // The host cannot pull it (air gap, rate limit, private image): this machine may have it.
      if (error instanceof UserError && error.code === 'IMAGE_NOT_FOUND' && deps.transfer !== 'always' && (await send())) return { image: reference, action: 'sent' };
      // Only the default image is ever replaced, and only when its registry is out of reach; a configured image fails as configured.
      if (offline && error instanceof UserError && error.code === 'IMAGE_NOT_FOUND') return useOffline(`cannot be pulled (${error.message})`);
      throw error;
    }
    return { image: reference, action: 'pulled' };
  }
  const { build, fingerprint } = plan.image;
  const dockerfileText = await readFile(build.dockerfile ?? join(build.context, 'Dockerfile')).catch(() => undefined);
  if (dockerfileText === undefined) {
    throw new UserError('CONFIG_INVALID', `the Dockerfile ${build.dockerfile} does not exist`, 'fix environment.dockerfile.path in mltoolbox.yaml (relative to the project folder)');
  }
  const tag = build.tag.replace(/:pending$/, `:${createHash('sha256').update(fingerprint).update(dockerfileText).update(await copiedFilesFingerprint(dockerfileText.toString('utf8'), build.context)).digest('hex').slice(0, 12)}`);
  if (!force && (await containers.imageId(tag))) return { image: tag, action: 'reused-build' };
  await reporter.task(`Building image ${tag}`, (task) => containers.build({ ...build, tag }, (line) => task.update(line.slice(0, 60))));
  return { image: tag, action: 'built' };
}

/**
 * Sends an image from this machine's engine to the session's host, only the
 * layers it lacks. Undefined when this machine's engine does not have it.
 */
export async function sendImage(deps: Pick<PlaceDeps, 'createContainers' | 'localDockerSocket'> & { reporter: Reporter }, place: Place, reference: string): Promise<TransferResult | undefined> {
  const local = await deps.createContainers({ socketPath: deps.localDockerSocket });
  if (!(await local.imageId(reference).catch(() => undefined))) return undefined;
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const result = await deps.reporter.task(`Sending ${reference} to ${place.name} (only the layers it lacks)`, (task) =>
    transferImage(local, place.containers, reference, (p) => task.update(`${mb(p.sent)} of ${mb(p.total)}`)));
  deps.reporter.info(`sent ${mb(result.bytesSent)} of ${mb(result.bytesFull)}: ${result.layersSkipped} of ${result.layers} layers were already on ${place.name}`);
  return result;
}
