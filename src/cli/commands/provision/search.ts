import { UserError } from '../../../core/errors.ts';
import { flagOption, type CommandRun } from '../../command.ts';
import { positive, queryOptions, renderOffers } from './common.ts';

const MIN_INTERVAL_S = 10;

export const run: CommandRun = async (context, input) => {
  const provisioning = await context.app.provisioning();
  const query = queryOptions(input);
  const showAll = flagOption(input, 'all');
  if (!flagOption(input, 'watch')) {
    if (flagOption(input, 'provision')) throw new UserError('USAGE', '--provision works with --watch', 'use mltoolbox provision to launch now, or add --watch');
    const found = await provisioning.search(query);
    for (const w of found.warnings) context.reporter.warn(`${w.backend}: ${w.message}`);
    const offers = showAll ? found.offers : found.offers.filter((o) => o.available);
    return { result: { ...found, offers }, human: () => renderOffers(offers, found.warnings) };
  }
  const intervalS = positive(input, 'interval', true) ?? 60;
  if (intervalS < MIN_INTERVAL_S) throw new UserError('USAGE', `--interval ${intervalS} is below ${MIN_INTERVAL_S} s`, 'providers rate-limit their APIs: poll at most every 10 s (default 60)');
  const timeoutMin = positive(input, 'timeout', false) ?? 720;
  const found = await provisioning.watch({
    ...query, intervalMs: intervalS * 1000, maxWaitMs: timeoutMin * 60_000,
    onPoll: (result, round) => context.reporter.info(`search ${round}: no available offer yet${result.warnings.length ? ` (${result.warnings.length} backend(s) failing)` : ''}; next in ${intervalS} s`),
  });
  if (!flagOption(input, 'provision')) return { result: found, human: () => renderOffers(found.offers, found.warnings) };
  // --provision is the consent to launch what was found (the search already applied --max-price).
  const provisioned = await provisioning.provision({ ...query, offerId: found.offers[0]!.id });
  if ('cancelled' in provisioned) return { result: found };
  return { result: { ...found, provisioned: provisioned.instance }, human: () => `${renderOffers(found.offers, [])}\nprovisioned ${provisioned.instance.name}` };
};
