import type { ForwardStatus } from '../../../orchestrators/connection/forwards.ts';
import type { Style } from '../../ui/style.ts';

const KIND: Record<ForwardStatus['kind'], string> = {
  published: 'published by the container',
  session: 'while connect runs',
  detached: 'detached',
};

/** `127.0.0.1:8888 -> container :8888 on gpu-box (detached, alive)` */
export function describeForward(forward: Pick<ForwardStatus, 'local' | 'container' | 'target' | 'kind' | 'alive'>, style: Style): string {
  const state = forward.alive ? style.green('alive') : style.red('not answering');
  return `127.0.0.1:${forward.local} -> container :${forward.container} on ${forward.target} (${KIND[forward.kind]}, ${state})`;
}
