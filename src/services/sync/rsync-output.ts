import type { SyncChanges, SyncProgress } from './types.ts';

/**
 * rsync's stdout, read live: itemized lines (our --out-format, marked with
 * ITEM_MARK so shell noise or stats never pass for a file), progress2
 * lines (separated by \r, not \n), and the --stats block at the end.
 */
export const ITEM_MARK = 'MLT-ITEM ';
export const OUT_FORMAT = `${ITEM_MARK}%i %n`;

export interface RsyncStats {
  filesTransferred: number;
  bytes: number;
  bytesSent: number;
  bytesReceived: number;
  deleted: number;
}

export interface ParsedOutput {
  changes: SyncChanges;
  stats: RsyncStats;
  /** With `listing` on (rsync run with -ii): every path rsync considered, unchanged ones too, in its order; undefined past `listing`'s bound. */
  listing?: string[];
}

// "    1,234,567  45%   10.23MB/s    0:00:01 (xfr#3, to-chk=10/20)"
const PROGRESS = /^\s*([\d,.]+)\s+(\d{1,3})%\s+(\S+\/s)\s+(\d+:\d{2}:\d{2})(?:\s+\(xfr#(\d+),\s*(?:to|ir)-chk=(\d+)\/(\d+)\))?\s*$/;

const UNITS: Record<string, number> = { '': 1, k: 1024, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

export function parseRate(rate: string): number {
  const match = /^([\d.,]+)\s*([kKMGTP]?)i?B\/s$/.exec(rate);
  if (!match) return 0;
  return Math.round(Number(match[1]!.replace(',', '.')) * UNITS[match[2]!]!);
}

function parseCount(text: string): number {
  return Number(text.replace(/[,.]/g, ''));
}

export function parseProgressLine(line: string): SyncProgress | undefined {
  const match = PROGRESS.exec(line);
  if (!match) return undefined;
  const progress: SyncProgress = {
    bytes: parseCount(match[1]!),
    percent: Number(match[2]),
    rate: match[3]!,
    bytesPerSecond: parseRate(match[3]!),
    time: match[4]!,
    files: match[5] === undefined ? 0 : Number(match[5]),
  };
  if (match[6] !== undefined) {
    progress.filesToCheck = Number(match[6]);
    progress.filesTotal = Number(match[7]);
  }
  return progress;
}

/** rsync writes unprintable bytes in names as \#ooo (octal). */
export function unescapeName(name: string): string {
  return name.replace(/\\#([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * One itemized line ("<f+++++++++ a.txt", "*deleting   old.txt") into the
 * change lists. Folders whose only change is a timestamp are noise and
 * are dropped; an attribute-only change of a file counts as changed.
 */
function classifyItem({ flags, name }: { flags: string; name: string }, changes: SyncChanges): void {
  if (name === './') return;
  if (flags === '*deleting') {
    changes.deleted.push(name);
    return;
  }
  if (flags.startsWith('*')) return; // other messages, e.g. "*skipping"
  const kind = flags[1];
  const attributes = flags.slice(2);
  if (attributes.startsWith('+++++')) {
    changes.added.push(name);
  } else if (kind === 'd') {
    return; // a folder's timestamp or permissions: not worth listing
  } else if (flags[0] !== '.' || /[^.]/.test(attributes)) {
    changes.changed.push(name);
  }
}

/** An itemized line's flags (trimmed) and name; undefined for a line that is not one. */
function parseItem(line: string): { flags: string; name: string } | undefined {
  // %i is always 11 characters ("*deleting" is padded), then one space: names may start with spaces.
  const body = line.slice(ITEM_MARK.length);
  if (body.length < 13 || body[11] !== ' ') return undefined;
  const name = unescapeName(body.slice(12));
  return name === '' ? undefined : { flags: body.slice(0, 11).trimEnd(), name };
}

const STATS: Array<[keyof RsyncStats, RegExp]> = [
  ['filesTransferred', /^Number of regular files transferred:\s*([\d,.]+)/m],
  ['bytes', /^Total transferred file size:\s*([\d,.]+)/m],
  ['bytesSent', /^Total bytes sent:\s*([\d,.]+)/m],
  ['bytesReceived', /^Total bytes received:\s*([\d,.]+)/m],
  ['deleted', /^Number of deleted files:\s*([\d,.]+)/m],
];

export function parseStats(text: string): RsyncStats {
  const stats: RsyncStats = { filesTransferred: 0, bytes: 0, bytesSent: 0, bytesReceived: 0, deleted: 0 };
  for (const [key, regex] of STATS) {
    const match = regex.exec(text);
    if (match) stats[key] = parseCount(match[1]!);
  }
  return stats;
}

/** Feeds on stdout chunks as they come; `finish` gives the totals. */
export class RsyncOutputParser {
  private pending = '';
  private readonly changes: SyncChanges = { added: [], changed: [], deleted: [] };
  private readonly rest: string[] = [];
  private readonly onProgress: ((progress: SyncProgress) => void) | undefined;
  private lastProgress = '';
  private listing: string[] | undefined;
  private readonly listingMax: number;

  /** `listingMax`: collect the listing (ParsedOutput.listing) up to this many paths. */
  constructor(onProgress?: (progress: SyncProgress) => void, listingMax = 0) {
    this.onProgress = onProgress;
    this.listingMax = listingMax;
    if (listingMax > 0) this.listing = [];
  }

  push(chunk: string): void {
    const parts = (this.pending + chunk).split(/\r|\n/);
    this.pending = parts.pop() ?? '';
    for (const line of parts) this.line(line);
  }

  finish(): ParsedOutput {
    if (this.pending !== '') this.line(this.pending);
    this.pending = '';
    return { changes: this.changes, stats: parseStats(this.rest.join('\n')), ...(this.listing ? { listing: this.listing } : {}) };
  }

  private list(item: { flags: string; name: string }): void {
    if (item.flags.startsWith('*')) return; // deletions and rsync's messages are not paths it keeps
    if (this.listing!.length >= this.listingMax) this.listing = undefined;
    else this.listing!.push(item.name);
  }

  private line(line: string): void {
    if (line.startsWith(ITEM_MARK)) {
      const item = parseItem(line);
      if (!item) return;
      classifyItem(item, this.changes);
      if (this.listing) this.list(item);
      return;
    }
    const progress = parseProgressLine(line);
    if (progress) {
      // rsync repeats the last line several times at the end.
      if (line !== this.lastProgress) this.onProgress?.(progress);
      this.lastProgress = line;
      return;
    }
    if (line.trim() !== '') this.rest.push(line);
  }
}

/** Parses a whole recorded stdout at once (tests, and callers without streaming). */
export function parseRsyncOutput(stdout: string, onProgress?: (progress: SyncProgress) => void): ParsedOutput {
  const parser = new RsyncOutputParser(onProgress);
  parser.push(stdout);
  return parser.finish();
}
