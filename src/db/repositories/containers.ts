import type { DatabaseSync } from '../sqlite.ts';
import type { ContainerInput, ContainerRecord } from '../types.ts';

export interface ContainersRepository {
  /** Saves the dev container of a project on a remote, replacing the one known before. */
  upsertContainer(input: ContainerInput): ContainerRecord;
  getContainer(projectId: number, remote: string): ContainerRecord | undefined;
  /** All containers of a project, on every remote. */
  listContainers(projectId: number): ContainerRecord[];
  removeContainer(projectId: number, remote: string): boolean;
}

interface ContainerRow {
  project_id: number;
  remote: string;
  container_id: string;
  name: string;
  image: string;
  config_hash: string;
  status: string;
  created_at: string;
}

const COLUMNS = 'project_id, remote, container_id, name, image, config_hash, status, created_at';

function toRecord(row: ContainerRow): ContainerRecord {
  return {
    projectId: row.project_id,
    remote: row.remote,
    containerId: row.container_id,
    name: row.name,
    image: row.image,
    configHash: row.config_hash,
    status: row.status,
    createdAt: row.created_at,
  };
}

export function createContainersRepository(db: DatabaseSync, now: () => Date): ContainersRepository {
  return {
    upsertContainer(input) {
      // A different container id is a new container: it gets a new created_at.
      const row = db.prepare(`
        INSERT INTO containers (${COLUMNS})
        VALUES (:project_id, :remote, :container_id, :name, :image, :config_hash, :status, :now)
        ON CONFLICT (project_id, remote) DO UPDATE SET
          created_at = CASE WHEN container_id = excluded.container_id THEN created_at ELSE excluded.created_at END,
          container_id = excluded.container_id, name = excluded.name, image = excluded.image,
          config_hash = excluded.config_hash, status = excluded.status
        RETURNING ${COLUMNS}`).get({
        project_id: input.projectId,
        remote: input.remote,
        container_id: input.containerId,
        name: input.name,
        image: input.image,
        config_hash: input.configHash,
        status: input.status,
        now: now().toISOString(),
      }) as unknown as ContainerRow;
      return toRecord(row);
    },
    getContainer(projectId, remote) {
      const row = db.prepare(`SELECT ${COLUMNS} FROM containers WHERE project_id = ? AND remote = ?`).get(projectId, remote) as ContainerRow | undefined;
      return row && toRecord(row);
    },
    listContainers(projectId) {
      const rows = db.prepare(`SELECT ${COLUMNS} FROM containers WHERE project_id = ? ORDER BY remote`).all(projectId) as unknown as ContainerRow[];
      return rows.map(toRecord);
    },
    removeContainer(projectId, remote) {
      return Number(db.prepare('DELETE FROM containers WHERE project_id = ? AND remote = ?').run(projectId, remote).changes) > 0;
    },
  };
}
