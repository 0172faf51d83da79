import { untrusted } from '../../cards/markdown';
import { incidentRef } from '../../incidents/incident';
import { CASE_SYSTEM_NAMES } from '../../cases/case-system';
import { getIncidentCase } from '../../store/case-repository';
import type { Command } from '../command';
import { findIncident } from './find-incident';

/** `ticket <n>`: the incident's case, opened once however often it is asked (the case.create job is keyed by the incident). */
export const ticketCommand: Command = {
  usage: 'ticket <number>',
  gate: { access: 'responder', what: 'open tickets' },
  description: 'Open a case for an incident in the case system (ServiceNow or Jira); its number goes on the card',
  async handle(args, caller, deps) {
    if (!deps.cases) return { text: 'Vigil has no case system: set VIGIL_CASE_SYSTEM (servicenow or jira) and its settings to open tickets.' };
    const found = await findIncident(args.split(/\s+/)[0] ?? '', deps);
    if ('text' in found) return found;
    const { incident } = found;
    const system = CASE_SYSTEM_NAMES[deps.cases.system];
    const existing = await getIncidentCase(deps.db, incident.key);
    if (existing) return { text: `Incident ${untrusted(incidentRef(incident), 45)} already has ${untrusted(existing.number, 40)} in ${system}${existing.state === 'resolved' ? ' (resolved)' : ''}.` };
    await deps.cases.open(incident.key, caller.name ?? caller.aadObjectId ?? 'a responder');
    return { text: `Opening a ${system} case for incident ${untrusted(incidentRef(incident), 45)}; its number will be on the card.` };
  },
};
