import type { DatabaseSync } from '../sqlite.ts';
import type { InstanceIntent, InstanceRecord, InstanceUpdate } from '../types.ts';

/**
 * Provisioned cloud instances: the zero-orphan ledger. A row is written
 * BEFORE the launch call (state `launching`, no provider id), the provider
 * id as soon as the answer arrives, and the row is never deleted: it ends
 * `terminated` (or `failed` when the launch was refused and nothing exists).
 * Anything not ended is something that may bill.
 */
export interface InstancesRepository {
  recordLaunchIntent(intent: InstanceIntent): InstanceRecord;
  updateInstance(name: string, update: InstanceUpdate): InstanceRecord | undefined;
  getInstance(name: string): InstanceRecord | undefined;
  /** Frees a name (a refused launch's row keeps its history under another name). */
  renameInstance(from: string, to: string): InstanceRecord | undefined;
  findInstanceByProviderId(backend: string, providerId: string): InstanceRecord | undefined;
  /** Newest first; `open` keeps only those not terminated/failed (may still bill). */
  listInstances(options?: { open?: boolean }): InstanceRecord[];
}

/** States in which nothing is (or will be) running at the provider. */
export const ENDED_STATES = ['terminated', 'failed'] as const;

interface Row {
  id: number; name: string; backend: string; provider_id: string | null; offer_id: string; instance_type: string; region: string;
  gpu: string; gpu_count: number; price_per_hour: number; shape: 'vm' | 'container'; state: string;
  ssh_host: string | null; ssh_port: number | null; ssh_user: string | null; host_key_alias: string | null; known_hosts_file: string | null; owner_pid: number | null;
  idle_timeout_minutes: number | null; idle_action: string | null; project_path: string | null; stray: number; error: string | null;
  created_at: string; active_at: string | null; ended_at: string | null; updated_at: string;
}

function toRecord(row: Row): InstanceRecord {
  return {
    name: row.name, backend: row.backend, providerId: row.provider_id, offerId: row.offer_id, instanceType: row.instance_type,
    region: row.region, gpu: row.gpu, gpuCount: row.gpu_count, pricePerHour: row.price_per_hour, shape: row.shape, state: row.state,
    sshHost: row.ssh_host, sshPort: row.ssh_port, sshUser: row.ssh_user, hostKeyAlias: row.host_key_alias, knownHostsFile: row.known_hosts_file, ownerPid: row.owner_pid,
    idleTimeoutMinutes: row.idle_timeout_minutes, idleAction: row.idle_action, projectPath: row.project_path, stray: row.stray === 1,
    error: row.error, createdAt: row.created_at, activeAt: row.active_at, endedAt: row.ended_at, updatedAt: row.updated_at,
  };
}

const COLUMN: Record<keyof InstanceUpdate, string> = {
  providerId: 'provider_id', state: 'state', sshHost: 'ssh_host', sshPort: 'ssh_port', sshUser: 'ssh_user', hostKeyAlias: 'host_key_alias', knownHostsFile: 'known_hosts_file', ownerPid: 'owner_pid',
  stray: 'stray', error: 'error', activeAt: 'active_at', endedAt: 'ended_at', pricePerHour: 'price_per_hour',
  idleTimeoutMinutes: 'idle_timeout_minutes', idleAction: 'idle_action',
};

export function createInstancesRepository(db: DatabaseSync, now: () => Date): InstancesRepository {
  const get = (name: string) => {
    const row = db.prepare('SELECT * FROM instances WHERE name = ?').get(name) as Row | undefined;
    return row && toRecord(row);
  };
  return {
    recordLaunchIntent(intent) {
      const at = now().toISOString();
      const row = db.prepare(`
        INSERT INTO instances (name, backend, offer_id, instance_type, region, gpu, gpu_count, price_per_hour, shape, state,
          idle_timeout_minutes, idle_action, project_path, provider_id, stray, owner_pid, created_at, updated_at)
        VALUES (:name, :backend, :offer_id, :instance_type, :region, :gpu, :gpu_count, :price, :shape, :state,
          :idle, :idle_action, :project, :provider_id, :stray, :owner_pid, :at, :at)
        RETURNING *`).get({
        name: intent.name, backend: intent.backend, offer_id: intent.offerId, instance_type: intent.instanceType, region: intent.region,
        gpu: intent.gpu, gpu_count: intent.gpuCount, price: intent.pricePerHour, shape: intent.shape, state: intent.state ?? 'launching',
        idle: intent.idleTimeoutMinutes ?? null, idle_action: intent.idleAction ?? null, project: intent.projectPath ?? null,
        provider_id: intent.providerId ?? null, stray: intent.stray ? 1 : 0, owner_pid: intent.ownerPid ?? null, at,
      }) as unknown as Row;
      return toRecord(row);
    },
    updateInstance(name, update) {
      const entries = Object.entries(update).filter(([, v]) => v !== undefined) as [keyof InstanceUpdate, unknown][];
      if (entries.length === 0) return get(name);
      const sets = entries.map(([key]) => `${COLUMN[key]} = :${key}`).join(', ');
      const params: Record<string, string | number | null> = { name, updated_at: now().toISOString() };
      for (const [key, value] of entries) params[key] = typeof value === 'boolean' ? Number(value) : (value as string | number | null);
      const row = db.prepare(`UPDATE instances SET ${sets}, updated_at = :updated_at WHERE name = :name RETURNING *`).get(params) as Row | undefined;
      return row && toRecord(row);
    },
    getInstance: get,
    renameInstance(from, to) {
      const row = db.prepare('UPDATE instances SET name = ?, updated_at = ? WHERE name = ? RETURNING *').get(to, now().toISOString(), from) as Row | undefined;
      return row && toRecord(row);
    },
    findInstanceByProviderId(backend, providerId) {
      const row = db.prepare('SELECT * FROM instances WHERE backend = ? AND provider_id = ?').get(backend, providerId) as Row | undefined;
      return row && toRecord(row);
    },
    listInstances(options = {}) {
      const where = options.open ? `WHERE state NOT IN (${ENDED_STATES.map((s) => `'${s}'`).join(', ')})` : '';
      return (db.prepare(`SELECT * FROM instances ${where} ORDER BY id DESC`).all() as unknown as Row[]).map(toRecord);
    },
  };
}
