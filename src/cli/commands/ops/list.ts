import { UserError } from '../../../core/errors.ts';
import { printableName } from '../../../core/terminal-text.ts';
import { stringOption, type CommandRun } from '../../command.ts';
import { formatLastUsed } from '../remote/render.ts';

export const run: CommandRun = async (context, input) => {
  const limitText = stringOption(input, 'limit') ?? '20';
  const limit = /^\d{1,3}$/.test(limitText) ? Number(limitText) : NaN;
  if (!(limit >= 1 && limit <= 500)) throw new UserError('USAGE', `--limit ${limitText.slice(0, 20)} is not a number from 1 to 500`, 'for example: --limit 50');
  const operations = await (await context.app.relay()).listOperations(limit);
  const now = new Date();
  return {
    result: { operations },
    human: () => {
      if (operations.length === 0) return 'no operations yet (run connect, sync or provision with --op or --background)';
      return operations.map((o) => {
        const detail = o.error ? `${o.error.code}: ${o.error.message}` : o.progress ?? '';
        return `${o.id}  ${o.state.padEnd(10)}  ${printableName(o.title)}  ${formatLastUsed(o.createdAt, now)}${o.percent === null ? '' : `  ${Math.round(o.percent)}%`}${detail ? `  ${printableName(detail).slice(0, 120)}` : ''}`;
      }).join('\n');
    },
  };
};
