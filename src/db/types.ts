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

/** A provisioned cloud instance (see repositories/instances.ts: the zero-orphan ledger). */
export interface InstanceRecord {
  /** Ours, unique, sent to the provider as the instance name; also the saved remote's alias. */
  name: string;
  backend: string;
  /** null between the launch intent and the provider's answer. */
  providerId: string | null;
  offerId: string;
  instanceType: string;
  region: string;
  gpu: string;
  gpuCount: number;
  /** USD per hour. */
  pricePerHour: number;
  shape: 'vm' | 'container';
  /** launching, pending, running, stopped, terminating, terminated, failed. */
  state: string;
  sshHost: string | null;
  sshPort: number | null;
  sshUser: string | null;
  /** The known_hosts name its host key is pinned under, and the file. */
  hostKeyAlias: string | null;
  knownHostsFile: string | null;
  /** The process that launched it while that command runs: a dead owner with an unfinished launch is a stray. */
  ownerPid: number | null;
  idleTimeoutMinutes: number | null;
  /** stop, terminate or notify. */
  idleAction: string | null;
  projectPath: string | null;
  /** Found at the provider by reconciliation, not launched by a command that finished. */
  stray: boolean;
  error: string | null;
  createdAt: string;
  activeAt: string | null;
  endedAt: string | null;
  updatedAt: string;
}

/** What is recorded before the launch call: the offer's facts, then the rest as far as it is known. */
export type InstanceIntent = Pick<InstanceRecord, 'name' | 'backend' | 'offerId' | 'instanceType' | 'region' | 'gpu' | 'gpuCount' | 'pricePerHour' | 'shape'>
  & Partial<Pick<InstanceRecord, 'state' | 'stray' | 'ownerPid' | 'idleTimeoutMinutes' | 'idleAction' | 'projectPath'>>
  & { providerId?: string };

export type InstanceUpdate = Partial<Pick<InstanceRecord, 'providerId' | 'state' | 'sshHost' | 'sshPort' | 'sshUser' | 'hostKeyAlias' | 'knownHostsFile' | 'ownerPid' | 'stray' | 'error' | 'activeAt' | 'endedAt' | 'pricePerHour' | 'idleTimeoutMinutes' | 'idleAction'>>;
