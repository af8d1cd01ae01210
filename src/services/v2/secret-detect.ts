/**
 * Is this variable a secret? Decided by its name (WANDB_API_KEY,
 * GITHUB_TOKEN, DB_PASSWORD, …) or by the shape of its value (ghp_…, hf_…,
 * sk-…, a 40-hex W&B key, a JWT, a private key, a URL with a password, a
 * long random string). False positives only cost a `${secret:…}`
 * indirection; a false negative would leave a key in a committed file.
 */

const SECRET_WORDS = /(?:^|_)(?:API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|SECRET|SECRETS|TOKEN|TOKENS|PASSWORD|PASSWD|PASSPHRASE|PASS|CREDENTIALS?|AUTH|KEY|WEBHOOK|COOKIE|SESSION)(?:_|$)/i;
/** SSH_KEY_NAME, TOKEN_FILE, PASSWORD_PATH name a thing; they are not the thing. */
const NAMES_A_THING = /_(?:NAME|PATH|FILE|DIR|TYPE|ID|URL_NAME|HOST|PORT|USER|USERNAME|EMAIL|ENABLED|LENGTH|TTL|EXPIRY)$/i;

const SECRET_SHAPES: readonly RegExp[] = [
  /^gh[pousr]_[A-Za-z0-9]{30,}$/, // GitHub tokens
  /^github_pat_[A-Za-z0-9_]{40,}$/,
  /^hf_[A-Za-z0-9]{30,}$/, // Hugging Face
  /^sk-[A-Za-z0-9_-]{20,}$/, // OpenAI, Anthropic and friends
  /^xox[abprs]-[A-Za-z0-9-]{10,}$/, // Slack
  /^(?:AKIA|ASIA)[0-9A-Z]{16}$/, // AWS access key id
  /^glpat-[A-Za-z0-9_-]{20,}$/, // GitLab
  /^[0-9a-f]{40}$/i, // W&B API keys
  /^eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, // JWT
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, // scheme://user:password@host
  /^https:\/\/hooks\.slack\.com\/services\//,
];

export type SecretReason = 'name' | 'value';

/** Whether the name alone says "secret" (WANDB_API_KEY yes, SSH_KEY_NAME no). */
export function isSecretName(name: string): boolean {
  return SECRET_WORDS.test(name) && !NAMES_A_THING.test(name);
}

/** Why a variable counts as a secret, or undefined when it does not. */
export function secretReason(name: string, value: string): SecretReason | undefined {
  if (value === '') return undefined;
  if (isSecretName(name)) return 'name';
  return looksLikeSecretValue(value) ? 'value' : undefined;
}

export function looksLikeSecretValue(value: string): boolean {
  const trimmed = value.trim();
  if (SECRET_SHAPES.some((shape) => shape.test(trimmed))) return true;
  return isRandomLooking(trimmed);
}

/**
 * A long token of mixed letters and digits with high entropy: an API key
 * from a service not listed above. Paths, e-mail addresses, versions and
 * sentences do not qualify.
 */
function isRandomLooking(value: string): boolean {
  if (value.length < 32 || !/^[A-Za-z0-9_+=-]+$/.test(value)) return false;
  if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return false;
  return shannonEntropy(value) >= 4;
}

function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/** `WANDB_API_KEY` -> `wandb_api_key`, the name a secret gets in the store by default. */
export function defaultSecretName(variable: string): string {
  const name = variable.toLowerCase().replace(/[^a-z0-9_.-]/g, '_').replace(/^[^a-z0-9]+/, '');
  return name === '' ? 'secret' : name.slice(0, 128);
}
