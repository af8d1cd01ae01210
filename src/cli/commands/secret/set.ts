import { assertSecretName, assertSecretValue } from '../../../app/secrets-deps.ts';
import { stringArg, type CommandRun } from '../../command.ts';
import { readHidden, readPipedValue } from '../../ui/passphrase.ts';
import { backendLabel } from './label.ts';

export const run: CommandRun = async (context, input) => {
  const name = stringArg(input, 'NAME') ?? '';
  assertSecretName(name); // before asking for the value, so nobody types a token twice
  const value = context.stdin.isTTY
    ? await readHidden({ question: `Value for ${name} (hidden): `, stdin: context.stdin, stderr: context.stderr })
    : await readPipedValue(context.stdin);
  assertSecretValue(value);
  const store = await context.app.secretStore();
  await store.set(name, value);
  context.reporter.success(`saved secret ${name} in ${backendLabel(store.backend)}`);
  return { result: { name, backend: store.backend } };
};
