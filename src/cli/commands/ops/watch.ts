import { UserError } from '../../../core/errors.ts';
import { stringArg, type CommandInput, type CommandRun } from '../../command.ts';

/** The id argument of ops watch / ops cancel, checked before the relay is asked. */
export function operationId(input: CommandInput): string {
  const id = stringArg(input, 'id')!;
  if (!/^op-[a-f0-9]{8}$/.test(id)) throw new UserError('OPERATION_NOT_FOUND', `'${id.slice(0, 40)}' is not an operation id`, 'ids look like op-1a2b3c4d: mltoolbox ops list');
  return id;
}

export const run: CommandRun = async (context, input) => {
  const id = operationId(input);
  const { followOperation } = await import('../../operation.ts');
  return followOperation(context, id);
};
