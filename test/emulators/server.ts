import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The shared frame of the provider emulators: a small HTTP server on
 * 127.0.0.1, routes as (method, path regex), injected faults per route
 * (a status with any body — JSON, HTML, empty — or a dropped connection),
 * and a log of every request so tests can assert what was sent.
 */
export interface EmulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  params: string[];
}

export interface EmulatorResponse {
  status: number;
  body?: unknown;
  /** Sent as is (HTML pages, plain text); otherwise body is JSON. */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** reset: drop the connection unanswered; drop-response: act on the request, then drop the connection (the answer is lost). */
export type Fault = EmulatorResponse | 'reset' | 'drop-response' | { delayMs: number };

export interface Route {
  method: string;
  pattern: RegExp;
  /** A name for fault injection: `launch`, `list`, `terminate`. */
  name: string;
  handle(request: EmulatorRequest): EmulatorResponse | Promise<EmulatorResponse>;
}

export interface EmulatorServer {
  url: string;
  /** Every request, in order (method, path, body; auth header kept for auth tests). */
  requests: EmulatorRequest[];
  /** The next `times` requests to route `name` get the fault instead. */
  inject(name: string, fault: Fault, times?: number): void;
  /** Drops the faults still queued for route `name`. */
  clearFaults(name: string): void;
  close(): Promise<void>;
}

export async function startEmulatorServer(routes: readonly Route[], options: { authorize(request: EmulatorRequest): EmulatorResponse | undefined }): Promise<EmulatorServer> {
  const faults = new Map<string, { fault: Fault; times: number }[]>();
  const requests: EmulatorRequest[] = [];
  const sockets = new Set<Socket>();

  const send = (res: ServerResponse, reply: EmulatorResponse) => {
    const text = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
    res.writeHead(reply.status, {
      ...(text ? { 'content-type': reply.contentType ?? 'application/json' } : {}),
      ...reply.headers,
    });
    res.end(text);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          return send(res, { status: 400, body: { error: 'body is not JSON' } });
        }
        const match = routes.map((route) => ({ route, m: req.method === route.method ? route.pattern.exec(url.pathname) : null })).find((x) => x.m);
        const request: EmulatorRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body, params: match?.m?.slice(1).map(decodeURIComponent) ?? [] };
        requests.push(request);
        const denied = options.authorize(request);
        if (denied) return send(res, denied);
        if (!match) return send(res, { status: 404, body: { error: `no route ${req.method} ${url.pathname}` } });
        const queue = faults.get(match.route.name);
        const next = queue?.[0];
        if (next) {
          if (--next.times <= 0) queue!.shift();
          if (next.fault === 'reset') return req.socket.destroy();
          if (next.fault === 'drop-response') {
            await match.route.handle(request);
            return req.socket.destroy();
          }
          if ('delayMs' in next.fault) await new Promise((r) => setTimeout(r, (next.fault as { delayMs: number }).delayMs));
          else return send(res, next.fault);
        }
        send(res, await match.route.handle(request));
      })().catch((error: unknown) => send(res, { status: 500, body: { error: String(error) } }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    inject(name, fault, times = 1) {
      const queue = faults.get(name) ?? [];
      queue.push({ fault, times });
      faults.set(name, queue);
    },
    clearFaults: (name) => void faults.delete(name),
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** What every emulator reports for the zero-orphan assertions. */
export interface BillingReport {
  /** Instances the provider is charging for right now. */
  billable(): string[];
}

export interface SshEndpointForInstances {
  host: string;
  port: number;
  user: string;
}

export const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Cloudflare's rate-limit page, as Lambda's edge sends it (Error 1015). */
export const CLOUDFLARE_429 = '<!DOCTYPE html><html><head><title>Access denied | cloud.lambda.ai used Cloudflare to restrict access</title></head><body><h1>Error 1015</h1><p>You are being rate limited</p><p>The owner of this website (cloud.lambda.ai) has banned you temporarily from accessing this website.</p></body></html>';
