import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { RelayStore } from './server/store.ts';
import { generateToken, type TokenRecord, type TokenScope } from './server/tokens.ts';

/**
 * The relay's administration, run where the relay's database is (the
 * machine that runs `relay serve`, or any machine with the team database's
 * URL): tokens are created here, never over the network, so there is no
 * bootstrap route an attacker could call.
 */
export interface RelayDatabaseSettings {
  /** `relay.database_url`: PostgreSQL. Absent: SQLite in the data folder. */
  databaseUrl?: string;
  /** The PostgreSQL password (from the secret store), kept out of the URL and the config file. */
  password?: string;
  dataDir: string;
}

export function sqliteFile(dataDir: string): string {
  return join(dataDir, 'relay.db');
}

export async function openRelayStore(settings: RelayDatabaseSettings, now: () => Date = () => new Date()): Promise<RelayStore> {
  try {
    if (settings.databaseUrl) {
      const { openPostgresRelayStore } = await import('./server/pg-store.ts');
      return await openPostgresRelayStore(settings.databaseUrl, settings.password, now);
    }
    const { openSqliteRelayStore } = await import('./server/sqlite-store.ts');
    return await openSqliteRelayStore(sqliteFile(settings.dataDir), now);
  } catch (error) {
    const where = settings.databaseUrl ? `PostgreSQL at ${redactUrl(settings.databaseUrl)}` : sqliteFile(settings.dataDir);
    throw new UserError('RELAY_DATABASE_UNAVAILABLE', `cannot open the relay database (${where}): ${describe(error)}`,
      settings.databaseUrl ? 'check relay.database_url, that PostgreSQL is up and the user may create tables' : 'check the data folder is writable (MLTOOLBOX_DATA_DIR)', { cause: error });
  }
}

/** A URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // pg puts the connection string in some messages; never print a password.
  return text.replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)[^@\s]*@/g, '$1***@').split('\n')[0]!;
}

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export type PublicToken = Omit<TokenRecord, 'hash'>;

export function publicToken({ hash: _hash, ...rest }: TokenRecord): PublicToken {
  return rest;
}

export async function createToken(store: RelayStore, request: { name: string; scope: TokenScope; host?: string }, now: Date): Promise<{ token: string; record: PublicToken }> {
  if (!TOKEN_NAME.test(request.name)) {
    throw new UserError('RELAY_TOKEN_NAME_INVALID', `'${request.name.slice(0, 64)}' is not a token name`, 'use letters, digits, _ . @ -, up to 64 characters (e.g. laptop, ci@team)');
  }
  if (request.scope === 'agent' && (request.host === undefined || !HOST_NAME.test(request.host))) {
    throw new UserError('RELAY_TOKEN_NAME_INVALID', `an agent token needs a host name (letters, digits, _ . -); got '${(request.host ?? '').slice(0, 64)}'`, 'pass the host as add-host names it, e.g. gpu-box');
  }
  const live = (await store.listTokens()).filter((t) => t.revokedAt === null);
  if (live.some((t) => t.name === request.name)) {
    throw new UserError('RELAY_TOKEN_EXISTS', `a live token named '${request.name}' exists`, `pick another name, or revoke it first: mltoolbox relay token revoke ${request.name}`);
  }
  const fresh = generateToken(request.scope);
  const record: TokenRecord = {
    id: fresh.id, name: request.name, scope: request.scope, host: request.scope === 'agent' ? request.host! : null, hash: fresh.hash,
    createdAt: now.toISOString(), lastUsedAt: null, revokedAt: null,
  };
  await store.insertToken(record);
  return { token: fresh.token, record: publicToken(record) };
}

export async function revokeToken(store: RelayStore, idOrName: string, now: Date): Promise<string[]> {
  const revoked = await store.revokeToken(idOrName, now.toISOString());
  if (revoked.length === 0) {
    throw new UserError('RELAY_TOKEN_NOT_FOUND', `no live token with id or name '${idOrName.slice(0, 64)}'`, 'list them: mltoolbox relay token list');
  }
  return revoked;
}

/** add-host: one live agent token per host; a second add-host replaces it. */
export async function issueHostToken(store: RelayStore, host: string, now: Date): Promise<{ token: string; record: PublicToken; replaced: string[] }> {
  const replaced = await store.revokeHostTokens(host, now.toISOString());
  const created = await createToken(store, { name: `agent@${host}`, scope: 'agent', host }, now);
  return { ...created, replaced };
}
