import { stringOption, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const config = await context.app.config();
  const devcontainer = stringOption(input, 'devcontainer');
  const result = await config.validate(devcontainer ? { devcontainer } : {});
  const { style } = context;
  return {
    result,
    human: () => {
      const lines = [`${style.green('✔')} configuration is valid (${result.projectSource.description})`];
      const width = Math.max(...result.files.map((f) => f.kind.length), 'default'.length);
      lines.push(`  ${'default'.padEnd(width)}  built-in`);
      for (const file of result.files) {
        const shown = config.display(file.file);
        lines.push(`  ${file.kind.padEnd(width)}  ${file.found ? shown : style.dim(`${shown} (not found)`)}`);
      }
      for (const name of result.envVars) lines.push(`  ${'env'.padEnd(width)}  ${name}`);
      return lines.join('\n');
    },
  };
};
