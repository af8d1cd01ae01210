import { flagOption, listOption, stringArg, type CommandContext, type CommandRun } from '../../command.ts';
import type { ConnectOptions, ConnectResult } from '../../../orchestrators/connection/connection-orchestrator.ts';
import { withHostFixes } from '../../../orchestrators/doctor/fix-on-failure.ts';
import { confirmer } from '../../ui/ask.ts';

function describe(context: CommandContext, result: ConnectResult): string[] {
  const { style } = context;
  return [
    `${style.green('✔')} ${result.container.name} on ${result.target} (${result.container.action}${result.container.reason ? `: ${result.container.reason}` : ''})`,
    `  image    ${result.image}${result.imageAction === 'built' ? ' (built)' : result.imageAction === 'offline-default' ? ' (offline default: the default image could not be pulled)' : ''}`,
    ...(result.remoteDir ? [`  files    ${result.target}:${result.remoteDir} -> ${result.workdir}`] : [`  files    ${context.globals.projectDir} -> ${result.workdir}`]),
    ...(result.sync ? [`  sync     ${result.sync.filesTransferred} file(s), ${result.sync.deleted} deleted`] : []),
    ...result.forwards.map((f) => `  port     http://127.0.0.1:${f.local} -> container :${f.container}`),
    ...(result.agent && ['installed', 'upgraded'].includes(result.agent.action) ? [`  agent    mlt ${result.agent.version} ${result.agent.action} at ${result.agent.path}`] : []),
    ...(result.idle?.armed && !result.idle.alreadyRunning ? [`  idle     watcher restarted: ${result.idle.effectiveAction} after ${result.idle.timeoutSeconds} s idle`] : []),
    ...(result.sshHost ? [`  editor   ssh ${result.sshHost}  (VS Code: Remote-SSH: Connect to Host… → ${result.sshHost}; see docs/editors.md)`] : []),
    ...(result.workers ?? []).map((w) => `  worker   ${w.container.name} on ${w.target} (${w.container.action}${w.container.reason ? `: ${w.container.reason}` : ''})`),
  ];
}

export const run: CommandRun = async (context, input) => {
  const connection = await context.app.connection();
  const confirm = confirmer(context);
  const attached = !flagOption(input, 'no-attach') && !context.globals.json;
  const options = {
    ...(stringArg(input, 'target') ? { target: stringArg(input, 'target')! } : {}),
    ...(Array.isArray(input.args.workers) && input.args.workers.length > 0 ? { workers: input.args.workers } : {}),
    skipSync: flagOption(input, 'skip-sync'),
    forceRebuild: flagOption(input, 'force-rebuild'),
    ports: listOption(input, 'port'),
    // Without a shell nothing would keep a forward open: --no-attach forwards are detached.
    detach: flagOption(input, 'detach') || !attached,
    // The agent install is asked once, on a terminal only; without one (CI, scripts) connect notes it and goes on.
    agent: { yes: flagOption(input, 'yes'), ...(confirm ? { confirm } : {}) },
    // A provisioned instance's idle watcher, restarted when it is not running (a reboot, a stop/start).
    // The provider key goes (again) only with provision.idle_key_on_host: true; one placed earlier is kept.
    rearmIdle: (async (record, host, agentPath) => {
      const { idleKeyConfigured } = await import('../provision/common.ts');
      return (await context.app.provisioning()).armIdle(record, host, { agentPath, keyOnHost: (await idleKeyConfigured(context)) === true, rearm: true });
    }) satisfies ConnectOptions['rearmIdle'],
  };
  // A host check that fails (no Docker, not running, no permission, no rsync): doctor's fixes, step by step,
  // asked on a terminal or run with --yes; then connect once more.
  const fixes = {
    target: async () => options.target ?? (await connection.locate(undefined)).name,
    fix: { yes: flagOption(input, 'yes'), tty: context.app.environment.interactive, ...(confirm ? { confirm } : {}) },
    reporter: context.reporter,
  };
  if (!attached) {
    const result = await withHostFixes(() => context.app.doctor(), fixes, () => connection.connect(options));
    return { result, human: () => describe(context, result).join('\n') };
  }
  try {
    // One session for both: the shell rides the connection connect opened.
    const { result, exitCode } = await withHostFixes(() => context.app.doctor(), fixes, () => connection.connectAndAttach(options, Boolean(context.stdin.isTTY), (ready) => {
      context.stderr.write(`${describe(context, ready).join('\n')}\n`);
    }));
    return { result, exitCode };
  } finally {
    // Forwards of an attached connect end with its shell (--detach keeps them).
    await connection.ports.releaseSession();
  }
};
