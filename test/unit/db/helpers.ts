import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh folder per call, removed after the test file; returns the state.db path inside it. */
export function tempDbFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlt-db-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'state.db');
}

/** A clock the test moves by hand. */
export function fakeClock(start = '2025-03-01T12:00:00.000Z') {
  let time = Date.parse(start);
  return { now: () => new Date(time), advance: (ms: number) => void (time += ms) };
}
