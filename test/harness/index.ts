export { startHarness, useHarness, type Harness, type HarnessInfo } from './harness.ts';
export { createSandbox, type Sandbox } from './sandbox.ts';
export { runMltoolbox } from './run-mltoolbox.ts';
export { run, runOk, freePort, waitFor, type RunResult } from './process.ts';
export { ensureDebianImage, type DebianImage } from './debian-image.ts';
export { startTestRegistry, packFeature, FEATURE_MEDIA_TYPES, type TestRegistry } from './oci-registry.ts';
export { startSecondEngine, type SecondEngine } from './second-engine.ts';
export { startPodman, type PodmanService } from './podman.ts';
export { ensureDebRepository, useDebRepositoryScript } from './deb-repo.ts';
