import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import type { ContainerManager } from '../../services/containers/types.ts';
import { copiedFilesFingerprint } from './build-inputs.ts';
import type { ContainerPlan } from './container-plan.ts';

export type ImageAction = 'used' | 'pulled' | 'built' | 'reused-build';

/**
 * The image step of connect: an image reference is used (or pulled once), a
 * Dockerfile is built under a tag derived from everything that goes into it
 * (the plan's fingerprint, the Dockerfile, the files it copies), so an
 * unchanged project reuses its image and a changed one gets a new tag.
 */
export async function ensureImage(
  deps: { env: NodeJS.ProcessEnv; reporter: Reporter }, containers: ContainerManager, plan: ContainerPlan, force: boolean,
): Promise<{ image: string; action: ImageAction }> {
  const { reporter } = deps;
  if (plan.image.kind === 'image') {
    const reference = plan.image.reference;
    if (await containers.imageId(reference)) return { image: reference, action: 'used' };
    if (deps.env.MLTOOLBOX_NO_PULL) {
      // Offline machines and the test suite: never reach for a registry.
      throw new UserError('IMAGE_NOT_FOUND', `the image ${reference} is not on the Docker host and pulling is off (MLTOOLBOX_NO_PULL is set)`,
        `load it there first (docker load / docker pull ${reference}), or unset MLTOOLBOX_NO_PULL`);
    }
    // First use of a base image on this host: pull it once (later connects find it).
    await reporter.task(`Pulling ${reference}`, (task) => containers.pull(reference, (line) => task.update(line.slice(0, 60))));
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
