import { UserError, type ErrorCode } from '../core/errors.ts';
import { bodyExcerpt, parseRetryAfter, type HttpResponse } from './http.ts';

/** What went wrong at a provider, in our words; each backend reads its own error shapes into one. */
export type ProviderFailure = 'auth' | 'account' | 'capacity' | 'rate' | 'unavailable' | 'invalid' | 'not-found';

const CODES: Record<ProviderFailure, ErrorCode> = {
  auth: 'PROVIDER_AUTH_FAILED',
  account: 'PROVIDER_ACCOUNT',
  capacity: 'PROVIDER_CAPACITY',
  rate: 'PROVIDER_RATE_LIMITED',
  unavailable: 'PROVIDER_UNAVAILABLE',
  invalid: 'PROVIDER_REQUEST_INVALID',
  'not-found': 'PROVIDER_NOT_FOUND',
};

export interface ProviderErrorDetail {
  /** The provider's own code (`global/invalid-api-key`, `OUT_OF_STOCK`), when it sent one. */
  providerCode?: string;
  message: string;
}

function hintFor(provider: string, failure: ProviderFailure, response: HttpResponse | undefined): string {
  switch (failure) {
    case 'auth':
      return `the ${provider} API key was refused: create a new key in the ${provider} console, then run: mltoolbox backend add ${provider}`;
    case 'account':
      return `fix the account at ${provider} (payment method, balance, quota or pool access), then try again`;
    case 'capacity':
      return 'try the next offer (mltoolbox search lists them), or wait for one: mltoolbox search --watch --gpu GPU';
    case 'rate': {
      const wait = response ? parseRetryAfter(response.headers.get('retry-after'), Date.now()) : undefined;
      return `${provider} limits how often it may be called; try again in ${wait ? Math.ceil(wait / 1000) : 60} s`;
    }
    case 'unavailable':
      return `${provider} is having trouble; try again in a few minutes`;
    case 'invalid':
      return `${provider} refused the request as sent; check the offer, region and options (mltoolbox search), and report it if it persists`;
    case 'not-found':
      return `it no longer exists at ${provider}; mltoolbox instances list shows what is left`;
  }
}

export function providerError(provider: string, failure: ProviderFailure, detail: ProviderErrorDetail, response?: HttpResponse): UserError {
  const status = response ? ` (HTTP ${response.status}${detail.providerCode ? ` ${detail.providerCode}` : ''})` : '';
  return new UserError(CODES[failure], `${provider}: ${detail.message}${status}`, hintFor(provider, failure, response), {
    data: { provider, failure, ...(response ? { status: response.status } : {}), ...(detail.providerCode ? { providerCode: detail.providerCode } : {}) },
  });
}

/** The failure a status means when the body says nothing more specific. */
export function failureForStatus(status: number): ProviderFailure {
  if (status === 401) return 'auth';
  if (status === 402 || status === 403) return 'account';
  if (status === 404) return 'not-found';
  if (status === 429) return 'rate';
  if (status >= 500) return 'unavailable';
  return 'invalid';
}

/** A body as a short message: the provider's own text, or an excerpt of HTML / plain text. */
export function fallbackMessage(response: HttpResponse): string {
  return bodyExcerpt(response.text) || `HTTP ${response.status}`;
}

export function isProviderFailure(error: unknown, failure: ProviderFailure): boolean {
  return error instanceof UserError && error.code === CODES[failure];
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
export { record };

/** Reads a required field, or says which provider answered something unexpected. */
export function unexpected(provider: string, what: string): UserError {
  return new UserError('PROVIDER_UNAVAILABLE', `${provider} answered with an unexpected ${what}`,
    `the ${provider} API may have changed; run with --verbose and report it`, { data: { provider } });
}

/** `work`'s result, or `gone` when the provider no longer knows the object (an instance already terminated). */
export async function unlessGone<T>(work: Promise<T>, gone: T): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof UserError && error.code === 'PROVIDER_NOT_FOUND') return gone;
    throw error;
  }
}
