import { UserError } from '../../../core/errors.ts';
import { stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const name = stringArg(input, 'NAME') ?? '';
  const store = await context.app.secretStore();
  const value = await store.get(name);
  if (value === undefined) {
    throw new UserError('SECRET_NOT_FOUND', `no secret named '${name}' in the ${store.backend} store`,
      `see the names with 'mltoolbox secret list', or add it: mltoolbox secret set ${name}`);
  }
  // The one place a value is meant to leave mltoolbox: stdout, because the user asked.
  return { result: { name, value }, human: () => value };
};
