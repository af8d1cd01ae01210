import type { Reporter } from '../../core/reporter.ts';
import type { ContainerManager } from '../../services/containers/types.ts';
import { buildRelayImage, type RelayImageRequest } from './relay-image.ts';
import { ensureBootstrapImage, type BootstrapDeps, type BootstrapRequest, type BootstrapResult } from '../../services/images/bootstrap-builder.ts';

export interface ImagesDeps {
  reporter: Reporter;
  /** This machine's engine (DOCKER_HOST or the default socket). */
  localContainers(): Promise<ContainerManager>;
  bootstrap: BootstrapDeps;
}

/** `mltoolbox image …`: images made and moved without a registry. */
export function createImagesOrchestrator(deps: ImagesDeps) {
  return {
    /** The offline base image on this machine's engine: found by its content tag, else built with debootstrap. */
    async bootstrap(request: BootstrapRequest): Promise<BootstrapResult> {
      const containers = await deps.localContainers();
      return bootstrapOn(containers, request, deps.bootstrap, deps.reporter);
    },
    /** `relay image build`: the relay's image, offline, on the bootstrap base (or `base`). */
    async buildRelayImage(request: RelayImageRequest) {
      const containers = await deps.localContainers();
      const base = request.base ?? (await bootstrapOn(containers, {}, deps.bootstrap, deps.reporter)).tag;
      return buildRelayImage(containers, { ...request, base }, deps.reporter);
    },
  };
}

/** Shared with connect (its offline default image): one task line with debootstrap's progress. */
export function bootstrapOn(containers: ContainerManager, request: BootstrapRequest, bootstrap: BootstrapDeps, reporter: Reporter): Promise<BootstrapResult> {
  return reporter.task(`Bootstrapping ${request.distro ?? 'debian:bookworm'} image (debootstrap; cached by content)`, (task) =>
    ensureBootstrapImage(containers, request, bootstrap, (line) => task.update(line.slice(0, 70))));
}

export type ImagesOrchestrator = ReturnType<typeof createImagesOrchestrator>;
