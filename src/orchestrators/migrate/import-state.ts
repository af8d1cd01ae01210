import { isAbsolute, join } from 'node:path';
import { isUserError } from '../../core/errors.ts';
import type { RemoteRecord, StateStore } from '../../db/index.ts';
import { readV2Database, v2TimestampToIso, type ReadOnlySqlite, type V2Remote, type V2State } from '../../services/v2/v2-database.ts';
import { parseTarget, parseUser, validateAlias, validateIdentityFile } from '../../services/ssh/target.ts';
import { V2_STATE_IMPORT_MARKER } from './marker.ts';

export type RemoteImportStatus = 'imported' | 'would-import' | 'already-present' | 'conflict' | 'skipped';
export type ProjectImportStatus = 'linked' | 'would-link' | 'already-linked' | 'not-mapped';

export interface StateImportResult {
  /** The v2 database (read-only). */
  file: string;
  found: boolean;
  dryRun: boolean;
  remotes: Array<{ alias: string; host: string; status: RemoteImportStatus; reason?: string }>;
  projects: Array<{ name: string; status: ProjectImportStatus; localPath?: string; lastRemote?: string; reason?: string }>;
  /** v2 fields mltoolbox has no place for. */
  notMapped: Array<{ from: string; reason: string }>;
  /** A corrupt or partial v2 database: what could not be read. */
  warnings: string[];
}

export interface ImportStateOptions {
  /** The v3 state; undefined on a dry run before the state database exists (everything would be new). */
  store: StateStore | undefined;
  v2File: string;
  sqlite: ReadOnlySqlite;
  homeDir: string;
  dryRun: boolean;
  /** The project folder being migrated and its v2 name: the v2 project of that name is linked to it. */
  project?: { dir: string; name: string };
  now?: () => Date;
}

/**
 * Imports mltoolbox v2's saved remotes (alias, user, host, identity file,
 * times) and, for the project folder at hand, the v2 project's last remote.
 * Additive and idempotent: a remote already saved under the alias is kept
 * as it is, so running it again changes nothing. The v2 file is only read.
 */
export function importV2State(options: ImportStateOptions): StateImportResult {
  const { store, dryRun } = options;
  const now = options.now ?? (() => new Date());
  const v2 = readV2Database(options.v2File, options.sqlite);
  const result: StateImportResult = { file: options.v2File, found: true, dryRun, remotes: [], projects: [], notMapped: [], warnings: [...v2.warnings] };

  const work = () => {
    const usable = new Map<number, V2Remote>();
    for (const remote of v2.remotes) {
      const outcome = importRemote(remote, options, now);
      result.remotes.push({ alias: remote.alias, host: remote.host, status: outcome.status, ...(outcome.reason ? { reason: outcome.reason } : {}) });
      if (['imported', 'would-import', 'already-present'].includes(outcome.status)) usable.set(remote.id, remote);
      if (remote.gitName) result.notMapped.push({ from: `remote ${remote.alias}: git_name`, reason: 'no mltoolbox equivalent (git uses your own git config)' });
    }
    importProjects(v2, usable, options, result);
    if (!dryRun && store) store.setMeta(V2_STATE_IMPORT_MARKER, JSON.stringify({ file: options.v2File, at: now().toISOString() }));
  };
  if (!dryRun && store) store.transaction(work);
  else work();
  return result;
}

function importRemote(remote: V2Remote, options: ImportStateOptions, now: () => Date): { status: RemoteImportStatus; reason?: string } {
  let record: RemoteRecord;
  try {
    validateAlias(remote.alias);
    const target = parseTarget(remote.host);
    const user = remote.username ? parseUser(remote.username) : target.user ?? null;
    record = {
      alias: remote.alias,
      host: target.host,
      user,
      port: target.port ?? null,
      identityFile: remote.identityFile ? validateIdentityFile(expandHome(remote.identityFile, options.homeDir)) : null,
      createdAt: v2TimestampToIso(remote.createdAt) ?? now().toISOString(),
      lastUsedAt: v2TimestampToIso(remote.lastUsed) ?? null,
    };
  } catch (error) {
    if (!isUserError(error)) throw error;
    return { status: 'skipped', reason: error.message };
  }
  const existing = options.store?.getRemote(record.alias);
  if (existing) {
    const same = existing.host === record.host && (existing.user ?? null) === record.user && (existing.port ?? null) === record.port;
    return same
      ? { status: 'already-present' }
      : { status: 'conflict', reason: `mltoolbox already has a remote '${record.alias}' (${existing.user ? `${existing.user}@` : ''}${existing.host}); kept it` };
  }
  if (options.dryRun || !options.store) return { status: 'would-import' };
  options.store.insertRemoteIfAbsent(record);
  return { status: 'imported' };
}

function importProjects(v2: V2State, usable: ReadonlyMap<number, V2Remote>, options: ImportStateOptions, result: StateImportResult): void {
  const { store, project } = options;
  for (const v2Project of v2.projects) {
    const ports = v2Project.portMappings;
    if (ports !== null && ports !== undefined && !(Array.isArray(ports) && ports.length === 0) && !(typeof ports === 'object' && Object.keys(ports).length === 0)) {
      result.notMapped.push({ from: `project ${v2Project.name}: port_mappings`, reason: `add them to environment.ports in the project's mltoolbox.yaml (v2 had ${JSON.stringify(ports)})` });
    }
    if (v2Project.condaEnv) {
      result.notMapped.push({ from: `project ${v2Project.name}: conda_env`, reason: `no mltoolbox equivalent; activate '${v2Project.condaEnv}' in environment.post_start_command or your shell's rc file` });
    }
    if (!project || project.name !== v2Project.name) {
      result.projects.push({
        name: v2Project.name,
        status: 'not-mapped',
        reason: 'v2 knew projects by name only; run `mltoolbox migrate --state` in the project\'s folder to link it',
      });
      continue;
    }
    const linked = v2.links.filter((link) => link.projectId === v2Project.id).map((link) => usable.get(link.remoteId)).filter((r): r is V2Remote => r !== undefined);
    const lastRemote = linked.sort((a, b) => (v2TimestampToIso(b.lastUsed) ?? '').localeCompare(v2TimestampToIso(a.lastUsed) ?? ''))[0]?.alias;
    const entry = { name: v2Project.name, localPath: project.dir, ...(lastRemote ? { lastRemote } : {}) };
    const existing = store?.getProjectByPath(project.dir);
    if (existing && (existing.lastRemote !== null || !lastRemote)) {
      result.projects.push({ ...entry, status: 'already-linked', ...(existing.lastRemote ? { lastRemote: existing.lastRemote } : {}) });
      continue;
    }
    if (options.dryRun || !store) {
      result.projects.push({ ...entry, status: 'would-link' });
      continue;
    }
    const record = existing ?? store.upsertProject({ localPath: project.dir, name: v2Project.name });
    if (lastRemote) store.setLastRemote(record.id, lastRemote);
    result.projects.push({ ...entry, status: 'linked' });
  }
}

function expandHome(path: string, homeDir: string): string {
  if (path === '~') return homeDir;
  if (path.startsWith('~/')) return join(homeDir, path.slice(2));
  return isAbsolute(path) ? path : join(homeDir, '.ssh', path);
}

/** The result when there is no v2 database at all. */
export function noV2State(file: string, dryRun: boolean): StateImportResult {
  return { file, found: false, dryRun, remotes: [], projects: [], notMapped: [], warnings: [] };
}
