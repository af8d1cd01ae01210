/**
 * The records the state database holds. Timestamps are ISO-8601 strings in
 * UTC. A `remote` field is the alias as the user typed it: a saved remote
 * (`mltoolbox remote add`) or a Host from ~/.ssh/config — it is deliberately
 * not a foreign key, so hosts from ssh config work without being saved.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface RemoteRecord {
  alias: string;
  host: string;
  /** null: ssh decides (ssh config `User`, else the local user name). */
  user: string | null;
  /** null: ssh decides (ssh config `Port`, else 22). */
  port: number | null;
  identityFile: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface RemoteInput {
  alias: string;
  host: string;
  user?: string | null;
  port?: number | null;
  identityFile?: string | null;
}

export interface ProjectRecord {
  id: number;
  /** Absolute path of the project folder on this machine. */
  localPath: string;
  name: string;
  createdAt: string;
  lastRemote: string | null;
}

export interface ProjectInput {
  localPath: string;
  name: string;
}

/** What we know about one project on one remote. */
export interface ProjectRemoteRecord {
  projectId: number;
  remote: string;
  remoteDir: string;
  lastSyncAt: string | null;
  lastSyncSummary: JsonValue | null;
}

export interface SyncInput {
  projectId: number;
  remote: string;
  remoteDir: string;
  /** Whatever the sync reports (files, bytes, duration); stored as JSON. */
  summary: JsonValue;
}

/** The dev container of one project on one remote (at most one per pair). */
export interface ContainerRecord {
  projectId: number;
  remote: string;
  containerId: string;
  name: string;
  image: string;
  /** Hash of the resolved container config: a change means "rebuild". */
  configHash: string;
  status: string;
  createdAt: string;
}

export type ContainerInput = Omit<ContainerRecord, 'createdAt'>;

export interface ForwardRecord {
  id: number;
  projectId: number;
  remote: string;
  localPort: number;
  remotePort: number;
  /** The local process holding the tunnel (ssh -L), if one does. */
  pid: number | null;
  /** The ssh ControlPath socket the forward was added through, if any. */
  controlPath: string | null;
  createdAt: string;
}

export interface ForwardInput {
  projectId: number;
  remote: string;
  localPort: number;
  remotePort: number;
  pid?: number | null;
  controlPath?: string | null;
}

export interface ForwardFilter {
  projectId?: number;
  remote?: string;
}
