import { posix } from 'node:path';
import { UserError } from '../../core/errors.ts';
import type { MountSpec } from './types.ts';

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function invalid(value: string, why: string): UserError {
  return new UserError('CONTAINER_SPEC_INVALID', `volume ${JSON.stringify(value)} ${why}`,
    'write /host/path:/container/path, ./in-project:/container/path or name:/container/path, optionally with :ro (environment.volumes)');
}

/**
 * The one reader of docker -v syntax (`environment.volumes`): SOURCE:TARGET[:ro|rw],
 * or a lone /TARGET for an anonymous volume. SOURCE is an absolute path on the
 * engine's host, a path starting with `.` inside the project folder there
 * (`workspaceSource`), or a volume name. TARGET is an absolute container path.
 */
export function parseVolume(value: string, workspaceSource: string): MountSpec {
  const parts = value.split(':');
  if (parts.length === 1) {
    if (!value.startsWith('/')) throw invalid(value, 'names no absolute container path');
    return { type: 'volume', target: value };
  }
  if (parts.length > 3) throw invalid(value, 'is not SOURCE:TARGET[:ro]');
  const [source = '', target = '', mode] = parts;
  if (!target.startsWith('/')) throw invalid(value, `has a target (${JSON.stringify(target)}) that is not an absolute container path`);
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw invalid(value, `has the mode ${JSON.stringify(mode)} (ro or rw)`);
  const readOnly = mode === 'ro';
  if (source.startsWith('/')) return { type: 'bind', source, target, readOnly };
  if (source.startsWith('.')) return { type: 'bind', source: posix.join(workspaceSource, source), target, readOnly };
  if (source.startsWith('~')) throw invalid(value, 'starts with ~, which the engine does not expand; write the absolute path');
  if (!VOLUME_NAME.test(source)) throw invalid(value, `has a source (${JSON.stringify(source)}) that is neither a path nor a volume name`);
  return { type: 'volume', source, target, readOnly };
}
