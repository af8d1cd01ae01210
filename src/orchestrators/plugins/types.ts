import type { ClusterInfo, ConfigView, Plugin, PluginContainer, PluginHost, PortForwarder, ProjectInfo } from '../../plugin-api/index.ts';
import type { PluginEntry } from './entries.ts';

/** Where a plugin came from: shown by `plugins list`. */
export type PluginSource =
  | { kind: 'builtin' }
  | { kind: 'file'; file: string }
  | { kind: 'package'; name: string; dir: string };

/** An enabled, loaded, API-compatible plugin with its `plugins:` entry. */
export interface ActivePlugin {
  plugin: Plugin;
  source: PluginSource;
  entry: PluginEntry;
}

/** What a hook call can offer plugins beyond the payload; varies by the step that runs it. */
export interface HookScope {
  /** The CLI command running (`connect`, `sync`, `down`). */
  command: string;
  config: ConfigView;
  project: ProjectInfo;
  cluster?: ClusterInfo;
  container?: PluginContainer;
  host?: PluginHost;
  ports?: PortForwarder;
}

export function describeSource(source: PluginSource): string {
  switch (source.kind) {
    case 'builtin':
      return 'built-in';
    case 'file':
      return source.file;
    case 'package':
      return `npm ${source.name} (${source.dir})`;
  }
}
