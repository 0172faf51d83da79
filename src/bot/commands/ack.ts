import { untrusted } from '../../cards/markdown';
import { incidentRef } from '../../incidents/incident';
import { formatTime } from '../../incidents/render-incident-card';
import type { Command } from '../command';
import { findIncident } from './find-incident';

/** `ack <n>`: the same as the Acknowledge button, from any chat. */
export const ackCommand: Command = {
  usage: 'ack <number>',
  gate: { access: 'oncall', what: 'acknowledge pages' },
  description: "Acknowledge an incident's page and stop its escalation",
  async handle(args, caller, deps) {
    if (!deps.paging) return { text: 'Paging is not configured (VIGIL_ONCALL_FILE).' };
    if (!caller.aadObjectId) return { text: 'Teams did not say who you are, so I cannot record an acknowledgement.' };
    const found = await findIncident(args, deps);
    if ('text' in found) return found;
    const r = await deps.paging.pager.acknowledge(found.incident.key, caller.aadObjectId);
    if (r.acknowledged) return { text: `Acknowledged incident ${untrusted(incidentRef(found.incident), 45)}. Escalation stopped.` };
    if (!r.page) return { text: `Incident ${untrusted(incidentRef(found.incident), 45)} has not been paged.` };
    if (r.page.state === 'acknowledged') return { text: `Incident ${untrusted(incidentRef(found.incident), 45)} was already acknowledged at ${formatTime(r.page.ackedAt!.toISOString())}.` };
    return { text: `Incident ${untrusted(incidentRef(found.incident), 45)}'s page is resolved: the incident was closed.` };
  },
};
