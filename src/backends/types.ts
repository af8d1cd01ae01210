/**
 * The provisioning seam: one interface every GPU cloud implements. Callers
 * (the provisioning orchestrator) speak only this vocabulary; each backend
 * translates its provider's envelopes, units (cents, dollar strings, per-GPU
 * floats) and states into it.
 */

export type {
  BackendCapabilities, Instance, InstanceShape, InstanceState, LaunchRequest, Offer, OfferQuery, ProvisioningBackend, SshEndpoint, SshKeyRef,
} from '../plugin-api/index.ts';
import type { BackendCapabilities, ProvisioningBackend } from '../plugin-api/index.ts';

export interface BackendOptions {
  apiKey: string;
  /** The API root, e.g. https://cloud.lambda.ai (tests point it at an emulator). */
  baseUrl: string;
  fetch?: typeof fetch;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** Per-request time limit (default 20 s). */
  timeoutMs?: number;
  /** Attempts per request for retryable failures (default 5). */
  maxAttempts?: number;
  debug?: (message: string) => void;
}

export type BackendFactory = (options: BackendOptions) => ProvisioningBackend;

export interface BackendDefinition {
  name: string;
  /** Shown in `backend list` and docs. */
  title: string;
  defaultBaseUrl: string;
  /** Environment variable that overrides the base URL (tests, proxies). */
  baseUrlEnv: string;
  capabilities: BackendCapabilities;
  create: BackendFactory;
}
