import { stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const result = await (await context.app.provisioning()).removeBackend(stringArg(input, 'BACKEND') ?? '');
  if (result.openInstances.length > 0) {
    context.reporter.warn(`${result.openInstances.length} instance(s) on ${result.backend} may still bill: ${result.openInstances.join(', ')}; add the key again to manage them`);
  }
  context.reporter[result.removed ? 'success' : 'info'](result.removed ? `forgot the ${result.backend} API key` : `${result.backend} had no API key stored`);
  return { result };
};
