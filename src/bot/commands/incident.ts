import { isAppError } from '../../errors';
import { parseIncident } from '../../incidents/parse-incident';
import type { Command } from '../command';
import { entitiesCommand } from './entities';
import { INCIDENT_REF, lookUpIncident, notSeen } from './find-incident';

/**
 * Shows one incident's card: from the store when Vigil has seen it, otherwise fetched from
 * Sentinel (so an analyst can ask about incidents raised before Vigil was installed). A number
 * two workspaces share is answered with the question which (`incident contoso/1041`).
 */
export const incidentCommand: Command = {
  usage: 'incident <number>',
  gate: { access: 'staff', what: 'read incidents' },
  description: "Show one incident's card (`incident contoso/42` names the workspace where two have a 42)",
  async handle(args, _caller, deps) {
    const listing = /^(\S+)\s+entities(?:\s+(\S+))?$/i.exec(args);
    if (listing && INCIDENT_REF.test(listing[1]!)) return entitiesCommand.handle(`${listing[1]} ${listing[2] ?? '1'}`, _caller, deps);
    if (!INCIDENT_REF.test(args)) {
      return { text: 'Which incident? Type `incident` and its number, for example `incident 42` (`incident contoso/42` for workspace contoso), or `incident 42 entities` for all its entities.' };
    }
    const found = await lookUpIncident(deps.db, args);
    if ('incident' in found) return { card: await deps.renderIncidentCard(found.incident) };
    if ('text' in found) return found;
    // Only the default workspace's Sentinel is asked about incidents Vigil has not stored.
    if (found.missing.workspace) return { text: notSeen(found.missing) };
    const { number } = found.missing;
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
