import type { CommandContext } from '../../command.ts';

/**
 * The relay answers first when one is configured (no SSH round trip); when
 * it has no answer (down, slow, no agent, no such container) the host is
 * asked directly, after one note line saying why. Without a relay, only SSH.
 */
export async function relayFirst<T extends object>(
  context: CommandContext,
  relay: { reason(): string | undefined } | undefined,
  viaRelay: () => Promise<T | undefined>,
  overSsh: () => Promise<T>,
): Promise<T & { via: 'relay' | 'ssh' }> {
  const answered = relay ? await viaRelay() : undefined;
  if (answered) return { ...answered, via: 'relay' };
  const why = relay?.reason();
  if (why) context.reporter.info(`relay: ${why}; asking the host over SSH`);
  return { ...(await overSsh()), via: 'ssh' };
}
