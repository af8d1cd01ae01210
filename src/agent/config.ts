import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';

/** The agent's settings: /etc/mltoolbox/agent.yaml, then ~/.config/mltoolbox/agent.yaml (the user's wins). Both optional. */
export interface AgentConfig {
  /** The project used when the current folder names none and several containers run. */
  project?: string;
  /** The shell `mlt shell` starts; default: zsh, then bash, then sh, whichever the container has. */
  shell?: string;
  /** The Docker Engine's unix socket; default: DOCKER_HOST (unix://…), else /var/run/docker.sock. */
  dockerSocket?: string;
}

export const SYSTEM_CONFIG = '/etc/mltoolbox/agent.yaml';

export function userConfigFile(env: NodeJS.ProcessEnv, home: string): string {
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'mltoolbox', 'agent.yaml');
}

const KEYS: Record<string, { field: keyof AgentConfig; check: (value: string) => boolean; want: string }> = {
  project: { field: 'project', check: (v) => /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v), want: 'a project name (letters, digits, _ . -)' },
  shell: { field: 'shell', check: (v) => /^\/?[A-Za-z0-9_./-]+$/.test(v), want: 'a shell name or absolute path, e.g. zsh or /bin/bash' },
  docker_socket: { field: 'dockerSocket', check: (v) => v.startsWith('/'), want: 'an absolute path to a unix socket' },
};

/** Parses one file's text; problems name file:line:column. */
export async function parseAgentConfig(file: string, text: string): Promise<AgentConfig> {
  const { LineCounter, parseDocument, isMap, isScalar } = await import('yaml');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: string[] = [];
  const at = (offset: number | undefined) => {
    const { line, col } = lines.linePos(offset ?? 0);
    return `${file}:${line}:${col}`;
  };
  for (const error of doc.errors) problems.push(`${at(error.pos[0])}: ${error.message.split('\n')[0]}`);
  const config: AgentConfig = {};
  if (problems.length === 0 && doc.contents !== null) {
    if (!isMap(doc.contents)) problems.push(`${at(doc.contents.range?.[0])}: the file must be a mapping of settings (key: value)`);
    else {
      for (const pair of doc.contents.items) {
        const keyNode = pair.key;
        const key = isScalar(keyNode) ? String(keyNode.value) : '';
        const spec = KEYS[key];
        const keyAt = at(isScalar(keyNode) ? keyNode.range?.[0] : undefined);
        if (!spec) {
          problems.push(`${keyAt}: unknown setting ${JSON.stringify(key)} (known: ${Object.keys(KEYS).join(', ')})`);
          continue;
        }
        const valueNode = pair.value;
        const value = isScalar(valueNode) && typeof valueNode.value === 'string' ? valueNode.value : undefined;
        if (value === undefined || !spec.check(value)) {
          problems.push(`${at(isScalar(valueNode) ? valueNode.range?.[0] : undefined)}: ${key} must be ${spec.want}`);
          continue;
        }
        config[spec.field] = value;
      }
    }
  }
  if (problems.length > 0) {
    throw new UserError('CONFIG_INVALID', `the agent configuration ${file} is invalid`, `fix the lines named above (settings: ${Object.keys(KEYS).join(', ')})`, { details: problems });
  }
  return config;
}

/** Both files merged (missing ones are fine); the user's file wins. */
export async function loadAgentConfig(files: readonly string[]): Promise<AgentConfig> {
  let merged: AgentConfig = {};
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw new UserError('CONFIG_UNREADABLE', `cannot read ${file}: ${error.code ?? error.message}`, 'check the file permissions, or remove the file');
    });
    if (text !== undefined) merged = { ...merged, ...(await parseAgentConfig(file, text)) };
  }
  return merged;
}
