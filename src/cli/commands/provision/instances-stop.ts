import { flagOption, stringArg, type CommandRun } from '../../command.ts';
import { UserError } from '../../../core/errors.ts';
import { confirm, reportInstancesToRelay } from './common.ts';

export const run: CommandRun = async (context, input) => {
  const idOrName = stringArg(input, 'INSTANCE');
  const all = flagOption(input, 'all');
  if (!idOrName && !all) throw new UserError('USAGE', 'name an instance, or pass --all', 'mltoolbox instances list shows them');
  if (all && !(await confirm(context, 'Stop every running instance?', flagOption(input, 'yes')))) return { result: { stopped: [] } };
  const result = await (await context.app.provisioning()).stop(all ? { all } : { idOrName: idOrName! });
  for (const skipped of result.skipped) context.reporter.warn(`${skipped.name} not stopped: ${skipped.why}`);
  context.reporter.success(`stopped ${result.stopped.join(', ') || 'nothing'}`);
  await reportInstancesToRelay(context);
  return { result };
};
