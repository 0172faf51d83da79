import { isAppError } from '../../errors';
import { parseIncident } from '../../incidents/parse-incident';
import { getIncidentByNumber } from '../../store/incident-repository';
import type { Command } from '../command';
import { entitiesCommand } from './entities';

/**
 * Shows one incident's card: from the store when Vigil has seen it, otherwise fetched from
 * Sentinel (so an analyst can ask about incidents raised before Vigil was installed).
 */
export const incidentCommand: Command = {
  usage: 'incident <number>',
  gate: { access: 'staff', what: 'read incidents' },
  description: "Show one incident's card",
  async handle(args, _caller, deps) {
    const listing = /^#?(\d{1,9})\s+entities(?:\s+(\S+))?$/i.exec(args);
    if (listing) return entitiesCommand.handle(`${listing[1]} ${listing[2] ?? '1'}`, _caller, deps);
    const match = /^#?(\d{1,9})$/.exec(args);
    if (!match) return { text: 'Which incident? Type `incident` and its number, for example `incident 42`, or `incident 42 entities` for all its entities.' };
    const number = Number(match[1]);
    const stored = await getIncidentByNumber(deps.db, number);
    if (stored) return { card: await deps.renderIncidentCard(stored.incident) };
    try {
      const raw = await deps.sentinel.findIncidentByNumber(number);
      if (raw === undefined) return { text: `Incident #${number} was not found in Sentinel.` };
      return { card: await deps.renderIncidentCard(parseIncident(raw, { portalUrl: deps.portalUrl })) };
    } catch (e) {
      deps.logger.warn({ err: e, number }, 'incident lookup in Sentinel failed');
      return { text: `I could not look up incident #${number} in Sentinel: ${isAppError(e) ? e.message : 'unexpected error'}. Try again in a minute.` };
    }
  },
};
