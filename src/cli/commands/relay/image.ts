import { dirname } from 'node:path';
import { realpathSync } from 'node:fs';
import { UserError } from '../../../core/errors.ts';
import { stringArg, stringOption, type CommandRun } from '../../command.ts';
import { cliVersion } from '../../version.ts';

const TAG = /^[a-z0-9][a-z0-9._/-]{0,127}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$/;

export const run: CommandRun = async (context, input) => {
  const action = stringArg(input, 'action');
  if (action !== 'build') throw new UserError('USAGE', `relay image ${String(action).slice(0, 20)}: unknown action`, 'the one action is: mltoolbox relay image build');
  const tag = stringOption(input, 'tag') ?? `mltoolbox/relay:${cliVersion()}`;
  if (!TAG.test(tag)) throw new UserError('USAGE', `'${tag.slice(0, 80)}' is not an image tag`, 'for example: --tag mltoolbox/relay:latest');
  const base = stringOption(input, 'base');
  // This installation: bin/mltoolbox.js's folder's parent has dist/, package.json and node_modules/.
  const packageRoot = dirname(dirname(realpathSync(process.argv[1]!)));
  const images = await context.app.images();
  const built = await images.buildRelayImage({ tag, packageRoot, nodeBinary: process.execPath, ...(base ? { base } : {}) });
  return {
    result: built,
    human: () => [
      `${context.style.green('✔')} ${built.tag} (on ${built.base}, Node ${process.version}, ${built.packages} npm packages)`,
      `  run it   docker run -d --name mlt-relay -p 127.0.0.1:7878:7878 -v mlt-relay:/data ${built.tag}`,
      `  token    docker exec mlt-relay mltoolbox relay token create --name laptop`,
    ].join('\n'),
  };
};
