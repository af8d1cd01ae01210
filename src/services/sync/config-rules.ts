import type { SyncRules } from './types.ts';

/** The `sync:` section of mltoolbox.yaml, as far as the sync service reads it. */
export interface SyncConfigSection {
  exclude?: readonly string[];
  include_overrides?: readonly string[];
  respect_gitignore?: boolean;
}

export function rulesFromConfig(sync: SyncConfigSection | undefined): SyncRules {
  const rules: SyncRules = {};
  if (sync?.exclude) rules.exclude = sync.exclude;
  if (sync?.include_overrides) rules.includeOverrides = sync.include_overrides;
  if (sync?.respect_gitignore !== undefined) rules.respectGitignore = sync.respect_gitignore;
  return rules;
}
