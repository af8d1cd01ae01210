import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Relay tokens: `mltr_<scope letter>_<id>_<secret>`. The id (public, 12
 * characters) finds the row; only a SHA-256 of the whole token is stored
 * (the secret has 256 random bits, so a slow hash would add nothing), and
 * the comparison is constant-time. Scopes: `user` tokens read everything and
 * act on any host; `agent` tokens belong to one host and can only speak the
 * agent protocol as that host.
 */
export type TokenScope = 'user' | 'agent';

export interface TokenRecord {
  id: string;
  name: string;
  scope: TokenScope;
  /** The host an agent token speaks for; null for user tokens. */
  host: string | null;
  hash: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const TOKEN = /^mltr_([ua])_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewToken {
  token: string;
  id: string;
  hash: string;
}

export function generateToken(scope: TokenScope): NewToken {
  const id = randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12);
  const token = `mltr_${scope === 'user' ? 'u' : 'a'}_${id}_${randomBytes(32).toString('base64url')}`;
  return { token, id, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The id a presented token claims, or undefined when it is not shaped like one of ours. */
export function tokenId(token: string): string | undefined {
  return TOKEN.exec(token)?.[2];
}

/** Constant-time: the presented token's hash against the stored one. */
export function tokenMatches(presented: string, record: Pick<TokenRecord, 'hash'>): boolean {
  const a = Buffer.from(hashToken(presented), 'hex');
  const b = Buffer.from(record.hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `Authorization: Bearer X`, or a WebSocket subprotocol `bearer.X` (browsers cannot set headers on a WebSocket). */
export function presentedToken(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(auth.trim());
    if (match) return match[1];
  }
  const protocols = headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    for (const protocol of protocols.split(',')) {
      const trimmed = protocol.trim();
      if (trimmed.startsWith('bearer.')) return trimmed.slice('bearer.'.length);
    }
  }
  return undefined;
}
