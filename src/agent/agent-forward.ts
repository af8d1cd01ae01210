import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Connection } from 'ssh2';
import type { ContainerManager, ExecSession } from '../services/containers/types.ts';

/**
 * SSH agent forwarding into the container (`ssh -A <alias>`).
 *
 * The container cannot see a socket on the host, so a small listener runs in
 * it (one `docker exec`, python3): it binds a unix socket (0600, in a private
 * 0700 folder under /tmp) and multiplexes every connection to it over its own
 * stdin/stdout. This side opens one `auth-agent@openssh.com` channel to the
 * SSH client per connection and relays bytes both ways, so `ssh-add -l` or a
 * `git push` inside the container talks to the user's agent on the laptop.
 *
 * Frames, both directions: type (1 byte) · connection id (u32 BE) · length
 * (u32 BE) · payload. Listener → here: R ready, O opened, D data, C closed.
 * Here → listener: D data, C close. EOF on its stdin ends the listener and
 * removes the socket.
 */

export const LISTENER_SCRIPT = `import os,socket,struct,sys,selectors
path=sys.argv[1]
os.makedirs(os.path.dirname(path),mode=0o700,exist_ok=True)
os.umask(0o177)
srv=socket.socket(socket.AF_UNIX);srv.bind(path);srv.listen(16)
sel=selectors.DefaultSelector();sel.register(srv,selectors.EVENT_READ,0);sel.register(0,selectors.EVENT_READ,-1)
out=sys.stdout.buffer;conns={};nxt=0;buf=b''
def send(t,i,d=b''):
  out.write(struct.pack('>cII',t,i,len(d))+d);out.flush()
def close(i):
  s=conns.pop(i,None)
  if s: sel.unregister(s);s.close()
send(b'R',0)
while True:
  for key,_ in sel.select():
    if key.data==0:
      c,_=srv.accept();nxt+=1;conns[nxt]=c;sel.register(c,selectors.EVENT_READ,nxt);send(b'O',nxt)
    elif key.data==-1:
      d=os.read(0,65536)
      if not d:
        os.unlink(path);os.rmdir(os.path.dirname(path));sys.exit(0)
      buf+=d
      while len(buf)>=9:
        t,i,n=struct.unpack('>cII',buf[:9])
        if len(buf)<9+n: break
        p=buf[9:9+n];buf=buf[9+n:];s=conns.get(i)
        if t==b'C': close(i)
        elif s:
          try: s.sendall(p)
          except OSError: close(i);send(b'C',i)
    else:
      try: d=key.fileobj.recv(65536)
      except OSError: d=b''
      if d: send(b'D',key.data,d)
      else: close(key.data);send(b'C',key.data)
`;

export function frame(type: 'D' | 'C', id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.write(type, 0, 'latin1');
  head.writeUInt32BE(id, 1);
  head.writeUInt32BE(payload.length, 5);
  return Buffer.concat([head, payload]);
}

/** Splits a byte stream into frames; calls onFrame for each whole one. */
export function frameReader(onFrame: (type: string, id: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buffer: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    while (buffer.length >= 9) {
      const length = buffer.readUInt32BE(5);
      if (buffer.length < 9 + length) break;
      onFrame(buffer.toString('latin1', 0, 1), buffer.readUInt32BE(1), buffer.subarray(9, 9 + length));
      buffer = buffer.subarray(9 + length);
    }
  };
}

/** ssh2's server cannot open an auth-agent channel by itself (its Protocol can): the same steps as its x11(). */
type Internals = { _chanMgr?: { add(cb: unknown): number }; _protocol?: { openssh_authAgent?(chan: number, window: number, packet: number): void } };

export function canOpenAgentChannels(client: Connection): boolean {
  const internals = client as unknown as Internals;
  return typeof internals._chanMgr?.add === 'function' && typeof internals._protocol?.openssh_authAgent === 'function';
}

function openAgentChannel(client: Connection, callback: (error: Error | undefined, channel?: Duplex) => void): void {
  const internals = client as unknown as Required<Internals>;
  const wrapper = Object.assign((error: Error | undefined, channel?: Duplex) => callback(error, channel), { type: 'auth-agent@openssh.com' });
  const local = internals._chanMgr.add(wrapper);
  if (local === -1) return callback(new Error('no free SSH channels'));
  // ssh2's own window and packet sizes (lib/Channel.js).
  internals._protocol.openssh_authAgent!(local, 2 * 1024 * 1024, 32 * 1024);
}

export interface ForwardedAgent {
  /** SSH_AUTH_SOCK inside the container. */
  socketPath: string;
  stop(): void;
}

/** How long the listener may take to bind its socket (a python3 start in a busy container). */
export const LISTENER_READY_MS = 15_000;

/**
 * Starts the listener in the container and relays its connections to the
 * client's agent. Resolves when the socket exists; rejects when the container
 * has no python3 or the listener is not ready within `readyMs` (the caller then
 * serves the session without a socket, and the listener is told to end).
 */
export async function forwardAgent(client: Connection, containers: ContainerManager, id: string, readyMs = LISTENER_READY_MS): Promise<ForwardedAgent> {
  const socketPath = `/tmp/mlt-agent-${randomBytes(6).toString('hex')}/agent.sock`;
  const session: ExecSession = await containers.startExec(id, ['python3', '-c', LISTENER_SCRIPT, socketPath], { interactive: true });
  const stdin = session.stdin!;
  stdin.on('error', () => {});
  // A connection's bytes may come before its channel is open: they wait in `pending`.
  const connections = new Map<number, { channel?: Duplex; pending: Buffer[] }>();
  const send = (buffer: Buffer) => {
    if (!stdin.destroyed) stdin.write(buffer);
  };
  let errors = '';
  session.stderr.on('data', (chunk: Buffer) => {
    errors = (errors + chunk.toString('utf8')).slice(-400);
  });
  const opened = (conn: number, channel: Duplex) => {
    // A channel error (the client went away mid-write) ends that connection, never the server.
    channel.on('error', () => channel.destroy());
    const entry = connections.get(conn);
    if (!entry) return channel.end();
    entry.channel = channel;
    for (const data of entry.pending.splice(0)) channel.write(data);
    channel.on('data', (data: Buffer) => send(frame('D', conn, data)));
    channel.on('close', () => {
      if (connections.delete(conn)) send(frame('C', conn));
    });
  };
  const closeAll = () => {
    for (const entry of connections.values()) entry.channel?.destroy();
    connections.clear();
  };
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the agent socket listener did not start within ${Math.round(readyMs / 1000)} s`)), readyMs);
    session.done.then(({ exitCode }) => {
      // Gone (at once, or later): its connections go with it.
      closeAll();
      reject(new Error(`the agent socket listener exited with ${exitCode}${errors ? `: ${errors.trim()}` : ''}`));
    }, reject);
    session.stdout.on('data', frameReader((type, conn, payload) => {
      if (type === 'R') return resolve();
      if (type === 'O') {
        connections.set(conn, { pending: [] });
        return openAgentChannel(client, (error, channel) => {
          if (error || !channel) {
            connections.delete(conn);
            return send(frame('C', conn));
          }
          opened(conn, channel);
        });
      }
      const entry = connections.get(conn);
      if (type === 'D') {
        if (entry?.channel) entry.channel.write(payload);
        else entry?.pending.push(Buffer.from(payload));
      } else if (type === 'C' && entry) {
        connections.delete(conn);
        entry.channel?.end();
      }
    }));
  });
  try {
    await ready;
  } catch (error) {
    stdin.end(); // its cue to remove the socket and exit, if it is still there
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    socketPath,
    stop: () => {
      closeAll();
      stdin.end();
    },
  };
}
