import { UserError } from '../../../core/errors.ts';
import { flagOption, stringArg, type CommandRun } from '../../command.ts';
import { describeForward } from './render.ts';

const PORT = /^\d{1,5}$/;

export const run: CommandRun = async (context, input) => {
  let target = stringArg(input, 'TARGET');
  let port = stringArg(input, 'LOCAL_PORT');
  // `ports close 8888`: a lone number is the port, not a host.
  if (port === undefined && target !== undefined && PORT.test(target)) [target, port] = [undefined, target];
  const all = flagOption(input, 'all');
  if (all === (port !== undefined)) {
    throw new UserError('USAGE', all ? 'give a port or --all, not both' : 'which port? give LOCAL_PORT or --all',
      'e.g. mltoolbox ports close 8888, or mltoolbox ports close --all (mltoolbox ports list shows them)');
  }
  if (port !== undefined && (!PORT.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw new UserError('USAGE', `'${port}' is not a port number`, 'give the local port as ports list shows it, e.g. 8888');
  }
  const result = await (await context.app.connection()).ports.close(target, port !== undefined ? { port: Number(port) } : { all: true });
  return {
    result,
    human: () => [
      ...result.closed.map((f) => `closed ${describeForward({ ...f, alive: false }, context.style).replace(/ \(.*\)$/, '')}`),
      ...result.kept.map((f) => `kept   127.0.0.1:${f.local} -> container :${f.container} on local (published by the container: mltoolbox down local removes it)`),
    ].join('\n'),
  };
};
