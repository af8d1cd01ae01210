import { flagOption, stringArg, type CommandRun } from '../../command.ts';
import { UserError } from '../../../core/errors.ts';
import { confirm, reportInstancesToRelay } from './common.ts';

export const run: CommandRun = async (context, input) => {
  const idOrName = stringArg(input, 'INSTANCE');
  const all = flagOption(input, 'all');
  if (!idOrName && !all) throw new UserError('USAGE', 'name an instance, or pass --all', 'mltoolbox instances list shows them');
  if (!(await confirm(context, all ? 'Terminate every instance that may bill (disks are deleted)?' : `Terminate ${idOrName} (its disk is deleted)?`, flagOption(input, 'yes')))) {
    return { result: { terminated: [] }, human: () => 'cancelled' };
  }
  const result = await (await context.app.provisioning()).terminate(all ? { all } : { idOrName: idOrName! });
  context.reporter.success(`terminated ${result.terminated.map((t) => t.name).join(', ') || 'nothing'}`);
  await reportInstancesToRelay(context);
  return { result };
};
