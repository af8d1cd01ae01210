import { stringArg, stringOption, type CommandRun } from '../../command.ts';
import { readHidden, readPipedValue } from '../../ui/passphrase.ts';

export const run: CommandRun = async (context, input) => {
  const name = stringArg(input, 'BACKEND') ?? '';
  const provisioning = await context.app.provisioning();
  await provisioning.checkBackendName(name); // before asking for the key, so nobody types it for a typo
  const apiKey = context.stdin.isTTY
    ? await readHidden({ question: `API key for ${name} (hidden): `, stdin: context.stdin, stderr: context.stderr })
    : await readPipedValue(context.stdin);
  const url = stringOption(input, 'url');
  const result = await provisioning.addBackend(name, apiKey, url ? { url } : {});
  context.reporter.success(`${name}: API key works and is stored in the secret store`);
  return { result };
};
