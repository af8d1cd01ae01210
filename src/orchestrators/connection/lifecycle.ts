import { UserError } from '../../core/errors.ts';
import type { Reporter } from '../../core/reporter.ts';
import { stderrTail } from '../../core/stderr-tail.ts';
import type { FeatureContributions } from '../../services/features/index.ts';
import { commandArgvs } from './local-commands.ts';
import type { ProjectSession } from './session.ts';

export type LifecycleKey = 'on_create_command' | 'post_create_command' | 'post_start_command' | 'post_attach_command';

/**
 * A devcontainer lifecycle command in the dev container, in the project's
 * workdir: the features' commands first (installation order), then the
 * user's. A failure stops connect with the command's last lines, except
 * post_attach_command's: a broken attach command must not lock anyone out of
 * their shell, so it only warns.
 */
export async function runLifecycle(reporter: Reporter, session: ProjectSession, id: string, key: LifecycleKey, features?: FeatureContributions['lifecycle']): Promise<void> {
  const command = session.loaded.config.environment[key];
  // The features code loads only when features contributed lifecycle commands.
  const featureLifecycle = features ? (await import('../features/features-step.ts')).featureLifecycle : undefined;
  const fromFeatures = (when: 'before' | 'after') => (featureLifecycle ? featureLifecycle(features, key, when) : []);
  const commands: { argv: string[]; feature?: string }[] = [
    ...fromFeatures('before').map(({ command: one, feature }) => ({ argv: typeof one === 'string' ? ['sh', '-c', one] : one, feature })),
    ...(command === undefined ? [] : commandArgvs(command)),
    ...fromFeatures('after').map(({ command: one, feature }) => ({ argv: typeof one === 'string' ? ['sh', '-c', one] : one, feature })),
  ];
  for (const { argv, feature } of commands) {
    const step = `${key}${feature ? ` of feature ${feature}` : ''}`;
    const result = await reporter.task(`Running ${step}`, () => session.place.containers.exec(id, argv, { workdir: session.loaded.config.project.workdir }));
    if (result.exitCode === 0) continue;
    if (key === 'post_attach_command') {
      reporter.warn(`${key} failed with exit code ${result.exitCode}: ${stderrTail(result.stderr || result.stdout, 1).join('')}`);
      continue;
    }
    throw new UserError('REMOTE_COMMAND_FAILED', `${step} failed with exit code ${result.exitCode}`,
      `${feature ? 'the feature\'s command failed in this container: check the feature supports the image, or report it to its author' : 'fix the command in your configuration'}, then run 'mltoolbox connect' again. Its output:\n${(result.stderr || result.stdout).trim().split('\n').slice(-10).join('\n')}`,
      { data: { exitCode: result.exitCode, step: key, ...(feature ? { feature } : {}) } });
  }
}
