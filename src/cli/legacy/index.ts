import type { CliIo } from '../main.ts';
import type { CommandSpec } from '../command.ts';
import { mightBeLegacy } from './detect.ts';

/**
 * The hook main.ts calls before parsing: a v2 command line comes back as the
 * v3 one (plus any environment it maps to), after one deprecation line on
 * stderr (MLTOOLBOX_NO_DEPRECATION=1 hides it) and a warning per ignored flag.
 * Any other command line is returned untouched, without loading anything.
 */
export async function applyLegacyCommandLine(io: CliIo, commands: readonly CommandSpec[]): Promise<CliIo> {
  if (!mightBeLegacy(io.argv)) return io;
  const [{ rewriteLegacy }, { stateRemoteDirectory }, { createStyle, shouldUseColor }] = await Promise.all([
    import('./rewrite.ts'),
    import('./state-remotes.ts'),
    import('../ui/style.ts'),
  ]);
  const outcome = await rewriteLegacy(io.argv, { commands, remotes: stateRemoteDirectory(io.env, io.cwd), cwd: io.cwd });
  if (!outcome) return io;
  const style = createStyle(shouldUseColor({ noColorFlag: io.argv.includes('--no-color'), env: io.env, isTTY: Boolean(io.stderr.isTTY) }));
  const quiet = outcome.argv.includes('--quiet') || outcome.argv.includes('-q');
  if (outcome.deprecation && !isTruthy(io.env.MLTOOLBOX_NO_DEPRECATION)) io.stderr.write(`${style.yellow(`! ${outcome.deprecation}`)}\n`);
  for (const warning of outcome.warnings) io.stderr.write(`${style.yellow(`! ${warning}`)}\n`);
  if (!quiet) for (const note of outcome.notes) io.stderr.write(`${note}\n`);
  return { ...io, argv: outcome.argv, env: { ...io.env, ...outcome.env } };
}

const isTruthy = (value: string | undefined) => value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
