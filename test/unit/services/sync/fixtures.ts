import { readFileSync } from 'node:fs';

export interface RsyncFixture {
  description: string;
  rsync: string;
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A recorded real rsync run from test/fixtures/rsync (see capture.ts there). */
export function loadFixture(name: string): RsyncFixture {
  return JSON.parse(readFileSync(new URL(`../../../fixtures/rsync/${name}.json`, import.meta.url), 'utf8')) as RsyncFixture;
}
