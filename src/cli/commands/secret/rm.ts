import { UserError } from '../../../core/errors.ts';
import { stringArg, type CommandRun } from '../../command.ts';
import { backendLabel } from './label.ts';

export const run: CommandRun = async (context, input) => {
  const name = stringArg(input, 'NAME') ?? '';
  const store = await context.app.secretStore();
  if (!(await store.remove(name))) {
    throw new UserError('SECRET_NOT_FOUND', `no secret named '${name}' in the ${store.backend} store`, `see the names with 'mltoolbox secret list'`);
  }
  context.reporter.success(`deleted secret ${name} from ${backendLabel(store.backend)}`);
  return { result: { name, removed: true } };
};
