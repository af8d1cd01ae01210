import { inTransaction, type DatabaseSync } from '../sqlite.ts';
import type { JsonValue, ProjectInput, ProjectRecord, ProjectRemoteRecord, SyncInput } from '../types.ts';

export interface ProjectsRepository {
  /** Registers a project folder (or renames a known one); keyed by its absolute local path. */
  upsertProject(input: ProjectInput): ProjectRecord;
  getProjectByPath(localPath: string): ProjectRecord | undefined;
  getProject(id: number): ProjectRecord | undefined;
  /** The remote `mltoolbox up` with no host argument goes to next time; null forgets it. */
  setLastRemote(projectId: number, remote: string | null): void;
  /** Records a finished sync of a project to a remote folder. */
  recordSync(input: SyncInput): ProjectRemoteRecord;
  getProjectRemote(projectId: number, remote: string): ProjectRemoteRecord | undefined;
  listProjectRemotes(projectId: number): ProjectRemoteRecord[];
}

interface ProjectRow {
  id: number;
  local_path: string;
  name: string;
  created_at: string;
  last_remote: string | null;
}

interface ProjectRemoteRow {
  project_id: number;
  remote: string;
  remote_dir: string;
  last_sync_at: string | null;
  last_sync_summary: string | null;
}

const PROJECT_COLUMNS = 'id, local_path, name, created_at, last_remote';
const PROJECT_REMOTE_COLUMNS = 'project_id, remote, remote_dir, last_sync_at, last_sync_summary';

function toProject(row: ProjectRow): ProjectRecord {
  return { id: row.id, localPath: row.local_path, name: row.name, createdAt: row.created_at, lastRemote: row.last_remote };
}

function toProjectRemote(row: ProjectRemoteRow): ProjectRemoteRecord {
  return {
    projectId: row.project_id,
    remote: row.remote,
    remoteDir: row.remote_dir,
    lastSyncAt: row.last_sync_at,
    lastSyncSummary: row.last_sync_summary === null ? null : (JSON.parse(row.last_sync_summary) as JsonValue),
  };
}

export function createProjectsRepository(db: DatabaseSync, now: () => Date): ProjectsRepository {
  const byPath = (localPath: string) => {
    const row = db.prepare(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE local_path = ?`).get(localPath) as ProjectRow | undefined;
    return row && toProject(row);
  };
  return {
    upsertProject(input) {
      // Every project command records its project: when it is already there as is, a read (no write, no fsync) answers.
      const known = byPath(input.localPath);
      if (known && known.name === input.name) return known;
      return inTransaction(db, () => {
        const row = db.prepare(`
          INSERT INTO projects (local_path, name, created_at) VALUES (?, ?, ?)
          ON CONFLICT (local_path) DO UPDATE SET name = excluded.name
          RETURNING ${PROJECT_COLUMNS}`).get(input.localPath, input.name, now().toISOString()) as unknown as ProjectRow;
        return toProject(row);
      });
    },
    getProjectByPath: byPath,
    getProject(id) {
      const row = db.prepare(`SELECT ${PROJECT_COLUMNS} FROM projects WHERE id = ?`).get(id) as ProjectRow | undefined;
      return row && toProject(row);
    },
    setLastRemote(projectId, remote) {
      db.prepare('UPDATE projects SET last_remote = ? WHERE id = ?').run(remote, projectId);
    },
    recordSync(input) {
      const row = db.prepare(`
        INSERT INTO project_remotes (project_id, remote, remote_dir, last_sync_at, last_sync_summary)
        VALUES (:project_id, :remote, :remote_dir, :at, :summary)
        ON CONFLICT (project_id, remote) DO UPDATE SET
          remote_dir = excluded.remote_dir, last_sync_at = excluded.last_sync_at, last_sync_summary = excluded.last_sync_summary
        RETURNING ${PROJECT_REMOTE_COLUMNS}`).get({
        project_id: input.projectId,
        remote: input.remote,
        remote_dir: input.remoteDir,
        at: now().toISOString(),
        summary: JSON.stringify(input.summary),
      }) as unknown as ProjectRemoteRow;
      return toProjectRemote(row);
    },
    getProjectRemote(projectId, remote) {
      const row = db.prepare(`SELECT ${PROJECT_REMOTE_COLUMNS} FROM project_remotes WHERE project_id = ? AND remote = ?`)
        .get(projectId, remote) as ProjectRemoteRow | undefined;
      return row && toProjectRemote(row);
    },
    listProjectRemotes(projectId) {
      const rows = db.prepare(`SELECT ${PROJECT_REMOTE_COLUMNS} FROM project_remotes WHERE project_id = ? ORDER BY remote`)
        .all(projectId) as unknown as ProjectRemoteRow[];
      return rows.map(toProjectRemote);
    },
  };
}
