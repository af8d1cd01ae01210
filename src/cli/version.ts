import { readFileSync } from 'node:fs';

// Replaced with the package version by scripts/bundle.mjs; unbundled (tests), read package.json.
declare const MLTOOLBOX_VERSION: string | undefined;

export function cliVersion(): string {
  if (typeof MLTOOLBOX_VERSION === 'string') return MLTOOLBOX_VERSION;
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}
