import type { ContainerInfo, MetricsSample } from './protocol.ts';

/**
 * The CLI's side of the relay API: small, bounded requests (the CLI asks the
 * relay first and falls back to SSH, so a slow relay must cost at most the
 * timeout). Errors are returned as a reason, never thrown.
 */
export interface RelayHost {
  name: string;
  online: boolean;
  metrics: MetricsSample | null;
  containers: ContainerInfo[];
}

export type RelayAnswer<T> = { ok: true; value: T } | { ok: false; reason: string };

export async function fetchRelayHost(url: string, token: string, host: string, timeoutMs: number): Promise<RelayAnswer<RelayHost>> {
  let response: Response;
  try {
    response = await fetch(new URL(`/api/v1/hosts/${encodeURIComponent(host)}`, url), {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    return { ok: false, reason: name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'unreachable' };
  }
  if (response.status === 401 || response.status === 403) return { ok: false, reason: 'the relay refused the token (mltoolbox secret set relay_token)' };
  if (response.status === 404) return { ok: false, reason: `${host} has never connected to it (mltoolbox relay add-host ${host})` };
  if (!response.ok) return { ok: false, reason: `it answered ${response.status}` };
  try {
    const body = (await response.json()) as RelayHost;
    if (!body.online) return { ok: false, reason: `${host}'s agent is offline` };
    return { ok: true, value: body };
  } catch {
    return { ok: false, reason: 'it sent an unreadable answer' };
  }
}
