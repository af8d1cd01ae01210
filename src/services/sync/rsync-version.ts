import { UserError } from '../../core/errors.ts';

export interface RsyncVersion {
  major: number;
  minor: number;
  patch: number;
  protocol: number | undefined;
  text: string;
}

/** What the local rsync can do; each flag names the release that brought it. */
export interface RsyncCapabilities {
  /** 3.2.4 escapes remote args itself; older ones need -s (--protect-args). */
  protectsArgsByDefault: boolean;
  /** 3.2.3 */
  mkpath: boolean;
  /** 3.1.3: --modify-window=-1 compares nanoseconds, so two saves within one second both sync. */
  nanosecondTimes: boolean;
}

const MINIMUM = [3, 1, 0] as const; // --info=progress2 and --no-h

/** Parses the first line of `rsync --version`: "rsync  version 3.2.7  protocol version 31". */
export function parseRsyncVersion(output: string): RsyncVersion | undefined {
  const match = /^rsync\s+version\s+v?(\d+)\.(\d+)\.(\d+)\S*(?:\s+protocol version\s+(\d+))?/m.exec(output);
  if (!match) return undefined;
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: Number(match[3]),
    protocol: match[4] === undefined ? undefined : Number(match[4]),
    text: `${match[1]}.${match[2]}.${match[3]}`,
  };
}

export function atLeast(version: RsyncVersion, wanted: readonly [number, number, number]): boolean {
  const have = [version.major, version.minor, version.patch];
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== wanted[i]) return have[i]! > wanted[i]!;
  }
  return true;
}

/** Checks the local rsync is usable and says what it supports. */
export function capabilitiesOf(versionOutput: string): RsyncCapabilities & { version: RsyncVersion } {
  const version = parseRsyncVersion(versionOutput);
  if (!version || !atLeast(version, MINIMUM)) {
    const found = version?.text ?? (versionOutput.split('\n')[0]?.trim() || 'an unknown rsync');
    throw new UserError('SYNC_RSYNC_TOO_OLD', `rsync ${MINIMUM.join('.')} or newer is needed; found ${found}`, 'install a current rsync: apt-get install rsync, or brew install rsync on macOS (its bundled rsync/openrsync is too old)', {
      data: { found },
    });
  }
  return { version, protectsArgsByDefault: atLeast(version, [3, 2, 4]), mkpath: atLeast(version, [3, 2, 3]), nanosecondTimes: atLeast(version, [3, 1, 3]) };
}
