/**
 * What an idle instance's watcher will really do, given what the user chose:
 * the one rule the host agent acts on and the CLI shows (`instances list`).
 */
export type IdleAction = 'stop' | 'terminate' | 'notify';

export function effectiveIdleAction(chosen: IdleAction, canStop: boolean, hasCredential: boolean): { action: IdleAction; why?: string } {
  if (chosen === 'notify') return { action: 'notify' };
  if (!hasCredential) return { action: 'notify', why: 'no API key on this host (provision --idle-key-on-host places one), so it can only notify' };
  if (chosen === 'stop' && !canStop) return { action: 'notify', why: 'this provider cannot stop an instance; choose --idle-action terminate to end it when idle' };
  return { action: chosen };
}
