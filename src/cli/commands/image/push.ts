import { stringArg, type CommandRun } from '../../command.ts';

export const run: CommandRun = async (context, input) => {
  const connection = await context.app.connection();
  const result = await connection.pushImage(stringArg(input, 'HOST'), stringArg(input, 'IMAGE')!);
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  return {
    result,
    human: () => [
      `${context.style.green('✔')} ${result.image} on ${result.target}`,
      `  sent     ${mb(result.bytesSent)} of ${mb(result.bytesFull)} in ${(result.durationMs / 1000).toFixed(1)} s`,
      `  layers   ${result.layers - result.layersSkipped} sent, ${result.layersSkipped} already there`,
    ].join('\n'),
  };
};
