import { UserError } from '../../core/errors.ts';
import { stderrTail } from '../../core/stderr-tail.ts';

export interface RsyncFailure {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  direction: 'push' | 'fetch';
  /** The ssh destination, for messages. */
  host: string;
}

/** rsync exit codes that still mean "done": 24 is "some source files vanished" (a file saved mid-copy). */
export const VANISHED_EXIT = 24;

const SHELL_NOISE = /protocol version mismatch|is your shell clean|unexpected tag \d+|invalid (?:message|packet)|multiplexing overflow|unknown message \d+/i;
// "bash: rsync: command not found", "sh: 1: rsync: not found", "zsh: command not found: rsync",
// "bash: /opt/bin/rsync: No such file or directory"
const REMOTE_RSYNC_MISSING = /^\S+: (?:line \d+: |\d+: )?\S*rsync\S*: (?:command not found|not found|No such file or directory)\s*$|command not found: \S*rsync\b/m;
const DISK_FULL = /No space left on device|Disk quota exceeded|\(28\)$/m;
const NOT_FOUND = /(?:change_dir|link_stat) "([^"]*)" failed: No such file or directory/;
const MKPATH_UNSUPPORTED = /--mkpath: unknown option|unknown option.*mkpath/;

/** The first line ssh itself wrote, e.g. "ssh: connect to host x port 22: Connection refused". */
function sshLine(stderr: string): string | undefined {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .find((line) => /^ssh:|Permission denied \(|Host key verification failed|Connection (?:closed|reset|timed out)|Could not resolve/.test(line));
}

/** rsync's own complaint lines ("rsync: [sender] ..."), which say which file and why. */
function rsyncLines(stderr: string, limit = 10): string[] {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('rsync: ') || line.startsWith('rsync error: '))
    .slice(0, limit);
}

/** True when an older host rsync rejected --mkpath: push again the old way. */
export function isMkpathUnsupported(failure: RsyncFailure): boolean {
  return failure.code !== 0 && MKPATH_UNSUPPORTED.test(failure.stderr);
}

/**
 * Turns a failed rsync run into a UserError with a hint. Order matters:
 * the specific causes are checked before the exit code, because a missing
 * remote rsync and a noisy shell both end in exit 12 ("connection closed").
 */
export function classifyRsyncFailure(failure: RsyncFailure): UserError {
  const { code, stderr, host, direction } = failure;
  const data = { exitCode: code, host };
  const receiver = direction === 'push' ? host : 'this machine';

  if (SHELL_NOISE.test(stderr)) {
    return new UserError('SYNC_SHELL_NOT_CLEAN', `rsync could not talk to ${host}: its shell start-up files print text`, 'make ~/.bashrc (and ~/.profile) on the host print nothing for non-interactive shells, e.g. put [[ $- == *i* ]] || return at the top of ~/.bashrc; check with: ssh HOST true | wc -c (must print 0)', {
      data,
      details: stderrTail(stderr, 5),
    });
  }
  if (code === 127 || REMOTE_RSYNC_MISSING.test(stderr)) {
    return new UserError('SYNC_RSYNC_MISSING_ON_HOST', `rsync is not installed on ${host}`, `install it on the host: sudo apt-get install rsync (or dnf/yum install rsync), or let mltoolbox doctor ${host} --fix do it`, { data });
  }
  if (DISK_FULL.test(stderr)) {
    return new UserError('SYNC_DISK_FULL', `no space left on ${receiver} while copying`, `free space on ${receiver} (df -h), or exclude large files with sync.exclude`, {
      data,
      details: rsyncLines(stderr, 3),
    });
  }
  if (code === 255 || code === 12 || code === 30 || code === 35 || /connection unexpectedly closed/.test(stderr)) {
    const ssh = sshLine(stderr);
    const timedOut = code === 30 || code === 35 || /timeout/i.test(stderr);
    const why = ssh ?? (timedOut ? 'no data moved before the timeout' : 'the connection closed unexpectedly');
    return new UserError('SYNC_CONNECTION_FAILED', `cannot sync with ${host}: ${why}`, `check the connection with: ssh ${host} true`, {
      data,
      details: stderrTail(stderr, 5),
    });
  }
  const missing = NOT_FOUND.exec(stderr);
  if (missing) {
    const where = direction === 'push' ? 'locally' : `on ${host}`;
    return new UserError('SYNC_PATH_NOT_FOUND', `${missing[1]} does not exist ${where}`, direction === 'fetch' ? 'check the path relative to the project folder on the host; nothing was fetched for it' : 'check the project folder exists', {
      data: { ...data, path: missing[1] },
    });
  }
  if (code === 23) {
    return new UserError('SYNC_PARTIAL_TRANSFER', 'some files could not be copied (rsync exit 23)', 'read rsync\'s lines below; usually file permissions on one side', {
      data,
      details: rsyncLines(stderr),
    });
  }
  return new UserError('SYNC_FAILED', `rsync failed (${code === null ? `signal ${failure.signal}` : `exit ${code}`})`, 'read rsync\'s last lines below; run again with --verbose for the full command', {
    data,
    details: stderrTail(stderr),
  });
}

/**
 * rsync's stderr when the fast channel (RemoteShell.fast) could not be
 * opened, or its server refused the request before the command ran: nothing
 * happened on the host, so the same transfer can go the usual way.
 */
export function fastChannelUnavailable(stderr: string): boolean {
  return /stdio forwarding failed|open failed|\(0 bytes received so far\)|Failed to exec bash/.test(stderr);
}
