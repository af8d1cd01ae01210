import { record } from './errors.ts';
import type { Offer, OfferQuery } from './types.ts';

/**
 * Shared offer rules: how a GPU name typed by a person matches a provider's
 * (`h100` ↔ `gpu_1x_h100_pcie`, `H100 80GB HBM3`, `H100_sxm5`; `A10` never
 * matches `A100`), the query filter, and the order offers are shown in.
 */
function tokens(text: string): string[] {
  return text.toUpperCase().split(/[^A-Z0-9]+/).filter(Boolean);
}

const isDigit = (char: string | undefined) => char !== undefined && char >= '0' && char <= '9';

function tokenMatches(wanted: string, token: string): boolean {
  if (!token.startsWith(wanted)) return false;
  if (token.length === wanted.length) return true;
  // A prefix counts only at a letter/digit boundary: SXM → SXM5, H100 → H100SXM, but A10 ↛ A100.
  return isDigit(wanted.at(-1)) !== isDigit(token[wanted.length]);
}

export function matchesGpu(query: string, ...names: readonly string[]): boolean {
  const wanted = tokens(query);
  if (wanted.length === 0) return true;
  const have = names.flatMap(tokens);
  return wanted.every((w) => have.some((t) => tokenMatches(w, t)));
}

/** The query's constraints that every backend applies the same way. */
export function matchesQuery(offer: Offer, query: OfferQuery): boolean {
  if (query.gpu && !matchesGpu(query.gpu, offer.gpu, offer.instanceType)) return false;
  if (query.count !== undefined && offer.gpuCount !== query.count) return false;
  if (query.maxPricePerHour !== undefined && offer.pricePerHour > query.maxPricePerHour + 1e-9) return false;
  if (query.region && offer.region.toLowerCase() !== query.region.toLowerCase()) return false;
  return true;
}

/** Available first, then cheapest, then most GPU memory; ties by backend and id so the order is stable. */
export function compareOffers(a: Offer, b: Offer): number {
  return Number(b.available) - Number(a.available)
    || a.pricePerHour - b.pricePerHour
    || (b.gpuMemoryGb ?? 0) - (a.gpuMemoryGb ?? 0)
    || a.backend.localeCompare(b.backend)
    || a.id.localeCompare(b.id);
}

/** Dollars with cents: providers send integer cents (Lambda, Shadeform) or float dollars (RunPod). */
export const centsToDollars = (cents: number): number => Math.round(cents) / 100;

/** `ssh-ed25519 AAAA… comment` → `ssh-ed25519 AAAA…` (comments differ between copies of a key). */
function keyMaterial(publicKey: string): string {
  return publicKey.trim().split(/\s+/).slice(0, 2).join(' ');
}

/** The provider's record of this public key (`{public_key, …}`), whatever its name or comment there. */
export function findKey(keys: readonly unknown[], publicKey: string): Record<string, unknown> | undefined {
  const wanted = keyMaterial(publicKey);
  return keys.map(record).find((k) => typeof k?.public_key === 'string' && keyMaterial(k.public_key) === wanted);
}
