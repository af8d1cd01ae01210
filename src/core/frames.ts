/**
 * Length-prefixed frames read from a byte stream that splits them anywhere:
 * a type byte at offset 0, a big-endian uint32 payload length at `lengthAt`,
 * the payload after `headerSize` bytes. Docker's multiplexed exec/logs
 * stream is {8, 4}; the agent's fast channel (mlt serve, framed) is {5, 1}.
 */
export interface FrameLayout {
  headerSize: number;
  lengthAt: number;
}

/** Docker's multiplexed stream (exec, logs): stream type at 0 (1 stdout, 2 stderr), payload size at 4, payload after 8 bytes. */
export const DOCKER_FRAME_LAYOUT: FrameLayout = { headerSize: 8, lengthAt: 4 };

export interface FrameReader {
  /** Buffers `data` and calls onFrame for every whole frame it completes. */
  push(data: Buffer): void;
  /** The bytes of an unfinished frame (a stream cut short), and forgets them. */
  rest(): Buffer;
}

export function createFrameReader(layout: FrameLayout, onFrame: (type: number, payload: Buffer) => void): FrameReader {
  let pending: Buffer = Buffer.alloc(0);
  return {
    push(data) {
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      while (pending.length >= layout.headerSize) {
        const size = pending.readUInt32BE(layout.lengthAt);
        if (pending.length < layout.headerSize + size) break;
        const type = pending[0]!;
        const payload = pending.subarray(layout.headerSize, layout.headerSize + size);
        pending = pending.subarray(layout.headerSize + size);
        onFrame(type, payload);
      }
    },
    rest() {
      const left = pending;
      pending = Buffer.alloc(0);
      return left;
    },
  };
}
