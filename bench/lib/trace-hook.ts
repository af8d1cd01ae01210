/**
 * Loaded into the mltoolbox process with NODE_OPTIONS=--import=<this file>:
 * logs the process's start and exit and every HTTP request (the Docker API
 * calls, which ride the forwarded socket) to $MLT_BENCH_TRACE, with wall
 * clock seconds the shims' $EPOCHREALTIME can be compared with.
 * Nothing in src/ knows about it.
 */
import { subscribe } from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';

const file = process.env.MLT_BENCH_TRACE;
const now = (): string => ((performance.timeOrigin + performance.now()) / 1000).toFixed(6);
const log = (line: string): void => {
  if (file) appendFileSync(file, `${line}\n`);
};

if (file) {
  // timeOrigin is when this process started: the time before the hook ran is Node's own start-up.
  log(`P start ${(performance.timeOrigin / 1000).toFixed(6)} ${process.pid}`);
  log(`P hook ${now()} ${process.pid}`);
  const ids = new WeakMap<object, number>();
  let next = 0;
  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: { method: string; path: string } };
    const id = ++next;
    ids.set(request, id);
    log(`H start ${now()} ${id} ${request.method} ${request.path}`);
  });
  subscribe('http.client.response.finish', (message) => {
    const { request } = message as { request: object };
    log(`H end ${now()} ${ids.get(request) ?? 0}`);
  });
  process.on('exit', () => log(`P exit ${now()} ${process.pid}`));
}
