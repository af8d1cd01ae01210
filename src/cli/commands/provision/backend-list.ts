import { flagOption, type CommandRun } from '../../command.ts';
import { table } from './common.ts';

export const run: CommandRun = async (context, input) => {
  const backends = await (await context.app.provisioning()).listBackends({ check: !flagOption(input, 'offline') });
  return {
    result: { backends },
    human: () => table([['BACKEND', 'KEY', 'AUTH', 'STOP', 'SHAPE', 'URL'],
      ...backends.map((b) => [b.name, b.configured ? 'stored' : '-', b.error ? `${b.auth}: ${b.error}` : b.auth, b.stop ? 'yes' : 'no', b.shape === 'container' ? 'pod = container' : 'vm + docker', b.url])]),
  };
};
