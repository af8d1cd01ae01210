import type { DatabaseSync } from '../sqlite.ts';
import type { ForwardFilter, ForwardInput, ForwardRecord } from '../types.ts';

export interface ForwardsRepository {
  addForward(input: ForwardInput): ForwardRecord;
  /** Every forward, or those of one project and/or remote; by local port. */
  listForwards(filter?: ForwardFilter): ForwardRecord[];
  removeForward(id: number): boolean;
}

interface ForwardRow {
  id: number;
  project_id: number;
  remote: string;
  local_port: number;
  remote_port: number;
  pid: number | null;
  control_path: string | null;
  created_at: string;
}

const COLUMNS = 'id, project_id, remote, local_port, remote_port, pid, control_path, created_at';

function toRecord(row: ForwardRow): ForwardRecord {
  return {
    id: row.id,
    projectId: row.project_id,
    remote: row.remote,
    localPort: row.local_port,
    remotePort: row.remote_port,
    pid: row.pid,
    controlPath: row.control_path,
    createdAt: row.created_at,
  };
}

export function createForwardsRepository(db: DatabaseSync, now: () => Date): ForwardsRepository {
  return {
    addForward(input) {
      const row = db.prepare(`
        INSERT INTO port_forwards (project_id, remote, local_port, remote_port, pid, control_path, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        RETURNING ${COLUMNS}`).get(input.projectId, input.remote, input.localPort, input.remotePort,
        input.pid ?? null, input.controlPath ?? null, now().toISOString()) as unknown as ForwardRow;
      return toRecord(row);
    },
    listForwards(filter = {}) {
      const rows = db.prepare(`
        SELECT ${COLUMNS} FROM port_forwards
        WHERE (:project_id IS NULL OR project_id = :project_id) AND (:remote IS NULL OR remote = :remote)
        ORDER BY local_port, id`).all({ project_id: filter.projectId ?? null, remote: filter.remote ?? null }) as unknown as ForwardRow[];
      return rows.map(toRecord);
    },
    removeForward(id) {
      return Number(db.prepare('DELETE FROM port_forwards WHERE id = ?').run(id).changes) > 0;
    },
  };
}
