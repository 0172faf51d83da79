import { renderStatsCard } from '../../stats/render-stats-card';
import { computeSocStats } from '../../stats/soc-stats';
import type { Command } from '../command';

const DAY = 24 * 3_600_000;

/** `stats`: the SOC's own numbers for the last 24 hours and 7 days, from the store. */
export const statsCommand: Command = {
  usage: 'stats',
  gate: { access: 'staff', what: 'see the SOC numbers' },
  description: 'The SOC’s numbers: incidents by severity, time to acknowledge and contain, actions, recurring entities (24 h and 7 days)',
  async handle(_args, _caller, deps) {
    const now = deps.paging?.clock() ?? new Date();
    const [day, week] = await Promise.all([computeSocStats(deps.db, now, DAY), computeSocStats(deps.db, now, 7 * DAY)]);
    return {
      card: renderStatsCard([
        { title: 'Last 24 hours', stats: day },
        { title: 'Last 7 days', stats: week },
      ]),
    };
  },
};
