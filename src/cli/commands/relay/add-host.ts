import { stringArg, stringOption, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const target = stringArg(input, 'target')!;
  const name = stringOption(input, 'name');
  const relayUrl = stringOption(input, 'relay-url');
  const relay = await context.app.relay();
  const result = await context.reporter.task(`Starting mlt daemon on ${target}`, () =>
    relay.addHost({ target, ...(name ? { name } : {}), ...(relayUrl ? { relayUrl } : {}) }));
  return {
    result,
    human: () => [
      `host     ${result.host} (dials ${result.relayUrl})`,
      `daemon   ${result.mode === 'systemd' ? 'systemd --user unit mlt-daemon.service' : 'supervised background process (~/.local/state/mltoolbox/mlt-daemon.pid)'}`,
      `token    ${result.tokenId}${result.replacedTokens.length ? ` (replaced ${result.replacedTokens.join(', ')})` : ''}`,
    ].join('\n'),
  };
};
