import { flagOption, type CommandRun } from '../../command.ts';
import { confirm, renderInstances, reportInstancesToRelay } from './common.ts';

export const run: CommandRun = async (context, input) => {
  const provisioning = await context.app.provisioning();
  const found = await provisioning.reconcile({ all: flagOption(input, 'all') });
  for (const w of found.warnings) context.reporter.warn(`${w.backend}: could not list instances: ${w.message}`);
  const strays = found.instances.filter((i) => i.stray && !['terminated', 'failed'].includes(i.state));
  let terminated: string[] = [];
  if (strays.length > 0) {
    context.reporter.warn(`${strays.length} stray instance(s) may bill with nothing using them: ${strays.map((s) => s.name).join(', ')}`);
    const wanted = flagOption(input, 'terminate-strays') || (context.app.environment.interactive && !context.globals.json);
    if (wanted && (await confirm(context, `Terminate ${strays.map((s) => s.name).join(', ')}?`, flagOption(input, 'yes')))) {
      terminated = (await provisioning.terminate({ strays: true })).terminated.map((t) => t.name);
      context.reporter.success(`terminated ${terminated.join(', ')}`);
    } else {
      context.reporter.info('terminate them with: mltoolbox instances list --terminate-strays');
    }
  }
  const instances = terminated.length > 0 ? (await provisioning.reconcile({ all: flagOption(input, 'all') })).instances : found.instances;
  await reportInstancesToRelay(context, instances);
  return { result: { instances, warnings: found.warnings, terminatedStrays: terminated }, human: () => renderInstances(instances) };
};
