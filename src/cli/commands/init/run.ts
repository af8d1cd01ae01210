import { relative } from 'node:path';
import { flagOption, stringOption, type CommandRun } from '../../command.ts';
import { createChoicePrompt } from './prompt.ts';

export const run: CommandRun = async (context, input) => {
  const devcontainerName = stringOption(input, 'devcontainer');
  const result = await (await context.app.init()).init({
    force: flagOption(input, 'force'),
    ...(devcontainerName !== undefined ? { devcontainerName } : {}),
    prompt: createChoicePrompt(context),
  });
  const shown = (file: string) => relative(context.globals.projectDir, file) || file;
  return {
    result,
    human: () => {
      const { style } = context;
      const lines = [`${style.green('✔')} wrote ${shown(result.file)}${result.source.file ? ` from ${result.source.file}` : ''} (project ${result.projectName})`];
      if (result.backup) lines.push(`  previous file kept as ${shown(result.backup)}`);
      lines.push(`  editor schema: ${shown(result.schemaFile)}`);
      if (result.gitignoreUpdated) lines.push('  added mltoolbox.local.yaml to .gitignore');
      if (result.warnings.length > 0) lines.push(`  ${result.warnings.length} setting(s) not converted: listed as comments in ${shown(result.file)}`);
      lines.push('', 'Next:', '  mltoolbox config validate        check it', '  mltoolbox config show --origin   see every value and where it comes from');
      return lines.join('\n');
    },
  };
};
