import { createServer } from 'node:net';

/** True when nothing listens on 127.0.0.1:port (we can bind it). */
export function isLocalPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The first free port at or after `from`, trying at most `attempts` ports. */
export async function nextFreeLocalPort(from: number, attempts = 50): Promise<number | undefined> {
  for (let port = from; port < Math.min(65536, from + attempts); port++) {
    if (await isLocalPortFree(port)) return port;
  }
  return undefined;
}
