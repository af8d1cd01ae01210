import type { CommandRun } from '../../command.ts';
import { backendLabel } from './label.ts';

export const run: CommandRun = async (context) => {
  const store = await context.app.secretStore();
  const names = await store.list();
  if (names.length === 0) context.reporter.info(`no secrets in ${backendLabel(store.backend)} yet; add one: mltoolbox secret set NAME`);
  return { result: { backend: store.backend, names }, human: () => names.join('\n') };
};
