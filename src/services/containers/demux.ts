import { createFrameReader, DOCKER_FRAME_LAYOUT } from '../../core/frames.ts';
import type { OutputChunk } from './types.ts';

/**
 * Splits Docker's multiplexed stream (non-TTY attach, exec and logs): frames
 * of an 8-byte header — stream type (1 stdout, 2 stderr), three zero bytes,
 * a big-endian uint32 length — followed by that many payload bytes. Frames
 * arrive split across reads arbitrarily, so bytes are buffered until whole.
 */
export function createDemuxer(onChunk: (chunk: OutputChunk) => void): { push(data: Buffer): void; end(): void } {
  const reader = createFrameReader(DOCKER_FRAME_LAYOUT, (type, payload) => {
    // Type 0 is stdin echo (never sent for our attaches); treat unknown types as stdout.
    if (payload.length > 0) onChunk({ stream: type === 2 ? 'stderr' : 'stdout', data: Buffer.from(payload) });
  });
  return {
    push: (data) => reader.push(data),
    end() {
      // A truncated frame at the end (connection cut): deliver what arrived rather than drop it.
      const rest = reader.rest();
      if (rest.length > 8) onChunk({ stream: rest[0] === 2 ? 'stderr' : 'stdout', data: Buffer.from(rest.subarray(8)) });
    },
  };
}
