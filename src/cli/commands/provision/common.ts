import { createInterface } from 'node:readline/promises';
import { UserError } from '../../../core/errors.ts';
import type { BackendWarning, InstanceView, Offer } from '../../../orchestrators/provisioning/provisioning-orchestrator.ts';
import { shortDuration } from '../../../core/duration.ts';
import { describeIdle } from '../../../orchestrators/provisioning/idle-arm.ts';
import { stringOption, type CommandContext, type CommandInput } from '../../command.ts';

/** Asks y/N on the terminal; without one, --yes is required (money or an instance is at stake). */
export async function confirm(context: CommandContext, question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!context.app.environment.interactive) {
    throw new UserError('CONFIRMATION_REQUIRED', `${question.replace(/\?$/, '')}: there is no terminal to ask`, 'add --yes to go ahead');
  }
  const rl = createInterface({ input: context.stdin, output: context.stderr, terminal: false });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    return answer === 'y' || answer === 'yes';
  } finally {
    rl.close();
  }
}

function positive(input: CommandInput, name: string, integer: boolean): number | undefined {
  const text = stringOption(input, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(value > 0) || (integer && !Number.isInteger(value))) {
    throw new UserError('USAGE', `--${name} '${text}' is not a positive ${integer ? 'whole number' : 'number'}`, `e.g. --${name} ${integer ? '2' : '2.5'}`);
  }
  return value;
}

export function queryOptions(input: CommandInput) {
  const count = positive(input, 'count', true);
  const max = positive(input, 'max-price', false);
  const gpu = stringOption(input, 'gpu');
  const region = stringOption(input, 'region');
  const backend = stringOption(input, 'backend');
  return { ...(gpu ? { gpu } : {}), ...(count ? { count } : {}), ...(max !== undefined ? { maxPricePerHour: max } : {}), ...(region ? { region } : {}), ...(backend ? { backend } : {}) };
}

export { positive };

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

export const usd = (value: number) => `$${value.toFixed(2)}`;

export function renderOffers(offers: readonly Offer[], warnings: readonly BackendWarning[]): string {
  const rows = [['BACKEND', 'GPU', 'TYPE', 'REGION', '$/H', 'AVAILABLE', 'OFFER'],
    ...offers.map((o) => [o.backend, `${o.gpuCount}x ${o.gpu}`, o.instanceType, o.region, usd(o.pricePerHour), o.available ? 'yes' : 'no', o.id]),
    ...warnings.map((w) => [w.backend, '-', '-', '-', '-', 'error', `${w.code}: ${w.message}`])];
  return rows.length === 1 ? 'no offers match' : table(rows);
}

export function renderInstances(instances: readonly InstanceView[]): string {
  if (instances.length === 0) return 'no instances';
  return table([['NAME', 'BACKEND', 'GPU', 'REGION', 'STATE', '$/H', 'UPTIME', 'SPEND', 'IDLE'],
    ...instances.map((i) => [
      `${i.name}${i.stray ? ' (stray)' : ''}`, i.backend, `${i.gpuCount || '?'}x ${i.gpu}`, i.region, i.providerState ? `${i.state} (${i.providerState})` : i.state,
      usd(i.pricePerHour), shortDuration(i.uptimeSeconds), usd(i.spendUsd),
      describeIdle(i.idle),
    ])]);
}

/**
 * The ledger to the relay, when one is configured (its dashboard shows $/h,
 * spend and idle timers; `read`: views whose hosts' idle watchers were just
 * asked, so the timers travel too): bounded by relay.timeout_ms, and a relay that does
 * not answer costs one --verbose line, never the command.
 */
export async function reportInstancesToRelay(context: CommandContext, read?: readonly InstanceView[]): Promise<void> {
  const [relay, state] = await Promise.all([context.app.relay(), context.app.state()]);
  const idle = read ? new Map(read.filter((v) => v.idle.watcher !== 'unknown').map((v) => [v.name, v.idle])) : undefined;
  const why = await relay.reportInstances(state.listInstances({ open: false }).slice(0, 200), idle);
  if (why) context.reporter.debug(`relay: instances not reported (${why})`);
}

/** provision.idle_key_on_host as configured (undefined: not said). */
export async function idleKeyConfigured(context: CommandContext): Promise<boolean | undefined> {
  const loaded = await (await context.app.config()).load({ mode: 'redact' });
  return (loaded.config.provision as { idle_key_on_host?: boolean } | undefined)?.idle_key_on_host;
}
