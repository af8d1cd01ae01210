import type { OutputChunk } from './types.ts';

/**
 * Splits Docker's multiplexed stream (non-TTY attach, exec and logs): frames
 * of an 8-byte header — stream type (1 stdout, 2 stderr), three zero bytes,
 * a big-endian uint32 length — followed by that many payload bytes. Frames
 * arrive split across reads arbitrarily, so bytes are buffered until whole.
 */
export function createDemuxer(onChunk: (chunk: OutputChunk) => void): { push(data: Buffer): void; end(): void } {
  let pending: Buffer = Buffer.alloc(0);
  return {
    push(data) {
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      while (pending.length >= 8) {
        const size = pending.readUInt32BE(4);
        if (pending.length < 8 + size) break;
        const type = pending[0];
        const payload = pending.subarray(8, 8 + size);
        pending = pending.subarray(8 + size);
        // Type 0 is stdin echo (never sent for our attaches); treat unknown types as stdout.
        if (size > 0) onChunk({ stream: type === 2 ? 'stderr' : 'stdout', data: Buffer.from(payload) });
      }
    },
    end() {
      // A truncated frame at the end (connection cut): deliver what arrived rather than drop it.
      if (pending.length > 8) onChunk({ stream: pending[0] === 2 ? 'stderr' : 'stdout', data: Buffer.from(pending.subarray(8)) });
      pending = Buffer.alloc(0);
    },
  };
}
