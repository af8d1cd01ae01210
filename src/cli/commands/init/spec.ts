import type { CommandSpec } from '../../command.ts';

export const initSpec: CommandSpec = {
  name: 'init',
  summary: 'Write a commented mltoolbox.yaml from your devcontainer.json, Dockerfile or pyproject.toml',
  description: 'Looks for .devcontainer/devcontainer.json (or .devcontainer.json, or .devcontainer/NAME/devcontainer.json), '
    + 'then a Dockerfile, and converts what it finds into mltoolbox.yaml; pyproject.toml names the project. '
    + 'Also writes .mltoolbox/schema.json for editor completion and adds mltoolbox.local.yaml to an existing .gitignore. '
    + 'Refuses to replace an existing mltoolbox.yaml unless --force (the old one is kept as mltoolbox.yaml.bak).',
  group: 'Start here',
  options: {
    force: { type: 'boolean', description: 'Replace an existing mltoolbox.yaml (kept as mltoolbox.yaml.bak)' },
    devcontainer: { type: 'string', valueName: 'NAME', description: 'Convert .devcontainer/NAME/devcontainer.json when there are several' },
  },
  examples: ['mltoolbox init', 'mltoolbox init --devcontainer gpu', 'mltoolbox init --force'],
  load: () => import('./run.ts'),
};
