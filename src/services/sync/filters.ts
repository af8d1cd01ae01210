import { UserError } from '../../core/errors.ts';
import type { SyncRules } from './types.ts';

/**
 * Host folders that ML code writes during training. A push never deletes
 * them (or anything inside) even when the local project lacks them: losing
 * a run's checkpoints to a mirror is the one mistake sync must not make.
 */
export const DEFAULT_PROTECTED: readonly string[] = ['outputs/', 'checkpoints/', 'wandb/', 'mlruns/', 'lightning_logs/', 'runs/'];

export type FilterRule =
  /** Receiver side only: never deleted. */
  | { kind: 'protect'; pattern: string }
  | { kind: 'include'; pattern: string }
  /** Both sides: not sent, and (without --delete-excluded) not deleted. */
  | { kind: 'exclude'; pattern: string }
  /**
   * Per-folder file of exclude patterns, e.g. every .gitignore. Never sent
   * as is: expandGitignores turns it into exclude rules before a push.
   */
  | { kind: 'dir-merge-excludes'; file: string }
  /** A file of full rules ("- pat", "P pat"), for lists too long for argv. */
  | { kind: 'merge-file'; file: string };

export interface ResolvedRules {
  exclude: readonly string[];
  includeOverrides: readonly string[];
  respectGitignore: boolean;
  respectDockerignore: boolean;
  syncGit: boolean;
  protect: readonly string[];
}

export function resolveRules(rules: SyncRules = {}): ResolvedRules {
  const resolved = {
    exclude: rules.exclude ?? [],
    includeOverrides: rules.includeOverrides ?? [],
    respectGitignore: rules.respectGitignore ?? true,
    respectDockerignore: rules.respectDockerignore ?? true,
    syncGit: rules.syncGit ?? false,
    protect: rules.protect ?? DEFAULT_PROTECTED,
  };
  for (const [setting, patterns] of [['exclude', resolved.exclude], ['include_overrides', resolved.includeOverrides], ['protect', resolved.protect]] as const) {
    for (const pattern of patterns) checkPattern(setting, pattern);
  }
  return resolved;
}

function checkPattern(setting: string, pattern: string): void {
  if (pattern.trim() === '' || /[\0\n\r]/.test(pattern)) {
    throw new UserError('SYNC_PATTERN_INVALID', `sync.${setting} has an invalid pattern: ${JSON.stringify(pattern)}`, 'each pattern is one non-empty line, e.g. "data/" or "*.ckpt"', {
      data: { setting, pattern },
    });
  }
}

/**
 * The ordered filter list. rsync takes the FIRST rule that matches a path,
 * so order is precedence:
 *  1. protect — a protected host path survives every deletion;
 *  2. include_overrides — beat every ignore rule below;
 *  3. `.git` (unless syncGit), then config `exclude` (each also protected,
 *     should anyone ever add --delete-excluded);
 *  4. the root .dockerignore, translated;
 *  5. every .gitignore, per folder (a dir-merge rule here; a push expands
 *     it into plain rules, see gitignore-rules.ts).
 */
export function buildFilterRules(rules: ResolvedRules, dockerignore: string | undefined): FilterRule[] {
  const list: FilterRule[] = [];
  for (const pattern of rules.protect) {
    list.push({ kind: 'protect', pattern });
    // A protected folder that also exists locally is walked; its host-only files need their own rule.
    if (pattern.endsWith('/')) list.push({ kind: 'protect', pattern: `${pattern}**` });
  }
  for (const pattern of rules.includeOverrides) list.push({ kind: 'include', pattern });
  if (!rules.syncGit) list.push({ kind: 'exclude', pattern: '.git' });
  for (const pattern of rules.exclude) {
    list.push({ kind: 'protect', pattern }, { kind: 'exclude', pattern });
  }
  if (rules.respectDockerignore && dockerignore !== undefined) list.push(...dockerignoreToRules(dockerignore));
  if (rules.respectGitignore) list.push({ kind: 'dir-merge-excludes', file: '.gitignore' });
  return list;
}

export function toRsyncFilter(rule: FilterRule): string {
  switch (rule.kind) {
    case 'protect':
      return `P ${rule.pattern}`;
    case 'include':
      return `+ ${rule.pattern}`;
    case 'exclude':
      return `- ${rule.pattern}`;
    case 'dir-merge-excludes':
      return `:- ${rule.file}`;
    case 'merge-file':
      return `merge ${rule.file}`;
  }
}

/**
 * .dockerignore lines as rsync rules. Docker anchors patterns at the
 * context root and lets the LAST matching line win; rsync lets the first
 * win, so the lines are reversed and anchored with a leading '/'. A leading
 * `**\/` already means "at any depth", which is rsync's unanchored form.
 */
export function dockerignoreToRules(text: string): FilterRule[] {
  const rules: FilterRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    // No path holds a NUL (and rsync's argv cannot): such a line, or one with a stray CR, matches nothing.
    if (line === '' || line.startsWith('#') || /[\0\r]/.test(line)) continue;
    const exception = line.startsWith('!');
    if (exception) line = line.slice(1).trim();
    const cleaned = line
      .split('/')
      .filter((segment) => segment !== '' && segment !== '.')
      .join('/');
    if (cleaned === '') continue;
    const pattern = cleaned.startsWith('**/') ? cleaned.slice(3) : `/${cleaned}`;
    if (pattern === '') continue;
    rules.push({ kind: exception ? 'include' : 'exclude', pattern });
  }
  return rules.reverse();
}
