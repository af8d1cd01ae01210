import { resolvePaths, type AppPaths } from '../core/paths.ts';
import type { Reporter } from '../core/reporter.ts';

/**
 * The one place where mltoolbox is wired together. Every service and
 * orchestrator is created here, lazily (`lazy()` + dynamic import), and
 * receives what it needs as arguments — no module-level singletons, so tests
 * build an App with their own env, paths and fakes.
 *
 * To add a service: write it behind an interface in src/services/<area>/,
 * add an area file here (`<area>-deps.ts`) that imports it dynamically, and
 * expose one getter on App.
 */
export interface AppEnvironment {
  env: NodeJS.ProcessEnv;
  /** The project folder (-C/--project-dir, else the working directory). */
  projectDir: string;
  reporter: Reporter;
  /** May we prompt? False under CI, with no TTY, or with --json. */
  interactive: boolean;
}

export interface App {
  readonly environment: AppEnvironment;
  readonly paths: AppPaths;
}

export function createApp(environment: AppEnvironment): App {
  const paths = resolvePaths(environment.env);
  return { environment, paths };
}
