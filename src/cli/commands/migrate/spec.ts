import type { CommandSpec } from '../../command.ts';

export const migrateSpec: CommandSpec = {
  name: 'migrate',
  summary: 'Turn a mltoolbox v2 project (.env, docker-compose.yml, Dockerfile) into mltoolbox.yaml',
  description: 'Reads the files v2 wrote (in .mlt/ or in the project root), resolves the compose ${VAR} substitutions from the .env, '
    + 'and writes the equivalent mltoolbox.yaml. Secret values (API keys, tokens, passwords) go into the secret store and '
    + 'the file refers to them as ${secret:NAME}. The v2 files are never changed; running it again changes nothing. '
    + '--state also imports the saved remotes from the v2 database (~/.config/mltoolbox/mltoolbox.db, read only). '
    + 'See docs/migrating-from-v2.md.',
  group: 'Configuration',
  options: {
    'dry-run': { type: 'boolean', short: 'n', description: 'Show what would be written; write nothing, store no secret' },
    yes: { type: 'boolean', short: 'y', description: 'Do not ask before writing (needed without a terminal)' },
    state: { type: 'boolean', description: 'Also import the v2 state database (saved remotes, this project\'s last host)' },
  },
  examples: ['mltoolbox migrate --dry-run', 'mltoolbox migrate', 'mltoolbox migrate --yes --json', 'mltoolbox migrate --state'],
  load: () => import('./run.ts'),
};
