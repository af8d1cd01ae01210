import { createHash } from 'node:crypto';

/** OCI chain IDs of every prefix of a layer stack: chain(L0) = L0; chain(..Ln) = sha256(chain(..Ln-1) + " " + Ln). */
export function chainIds(diffIds: readonly string[]): string[] {
  const chains: string[] = [];
  for (const diffId of diffIds) {
    const previous = chains.at(-1);
    chains.push(previous === undefined ? diffId : `sha256:${createHash('sha256').update(`${previous} ${diffId}`).digest('hex')}`);
  }
  return chains;
}
