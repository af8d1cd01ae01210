import type { HookScope } from '../../../orchestrators/plugins/types.ts';
import type { PluginCommandRun } from '../../../orchestrators/plugins/run-command.ts';
import type { CommandContext, CommandRun } from '../../command.ts';
import { openPlugins } from './open-plugins.ts';

export const run: CommandRun = async (context, input) => {
  const words = (Array.isArray(input.args.COMMAND) ? input.args.COMMAND : [input.args.COMMAND ?? '']).filter(Boolean);
  const { host, loaded, configError } = await openPlugins(context, 'resolve');
  if (configError || !loaded) {
    const { UserError } = await import('../../../core/errors.ts');
    throw new UserError('CONFIG_INVALID', configError?.message ?? 'the configuration could not be loaded', configError?.hint ?? 'run mltoolbox config validate');
  }
  const { runPluginCommand } = await import('../../../orchestrators/plugins/run-command.ts');
  const app = context.app;
  const runWith = (scope: HookScope) =>
    runPluginCommand({ host, env: app.environment.env, secrets: () => app.secretStore(), scope }, words, { args: [], options: {}, rest: input.rest });
  const done: PluginCommandRun = (await withContainer(context, runWith)) ?? (await runWith({
    command: 'plugins run',
    config: loaded.config as unknown as Record<string, unknown>,
    project: { name: loaded.config.project?.name ?? 'project', localDir: app.environment.projectDir, workdir: loaded.config.project?.workdir ?? '/workspace' },
  }));
  return {
    result: { plugin: done.plugin, command: done.command, result: done.outcome.result ?? null },
    human: () => done.outcome.human ?? '',
    ...(done.outcome.exitCode !== undefined ? { exitCode: done.outcome.exitCode } : {}),
  };
};

/** When the project has a dev container on record, the command also gets the container, the host and ports. */
async function withContainer(context: CommandContext, work: (scope: HookScope) => Promise<PluginCommandRun>): Promise<PluginCommandRun | undefined> {
  const state = await context.app.state();
  const project = state.getProjectByPath(context.app.environment.projectDir);
  const record = project?.lastRemote ? state.getContainer(project.id, project.lastRemote) : undefined;
  if (!record) return undefined;
  const [connection, { sessionScope }] = await Promise.all([context.app.connection(), import('../../../orchestrators/plugins/connection-hooks.ts')]);
  return connection.withSession(undefined, async (session) => {
    const info = await session.place.containers.inspect(record.containerId);
    const container = info?.running ? { id: info.id, name: info.name, ports: info.ports } : undefined;
    return work(sessionScope(session, { projectDir: context.app.environment.projectDir, command: 'plugins run' }, container));
  });
}
