import type { Command } from '../command';
import { findIncident } from './find-incident';

/** `page <n>`: wakes the on-call chain for an incident the policy did not page for. */
export const pageCommand: Command = {
  usage: 'page <number>',
  gate: { access: 'oncall', what: 'page the on-call analyst' },
  description: 'Page the on-call analyst about an incident now',
  async handle(args, caller, deps) {
    if (!deps.paging) return { text: 'Paging is not configured (VIGIL_ONCALL_FILE).' };
    const found = await findIncident(args, deps);
    if ('text' in found) return found;
    const r = await deps.paging.pager.pageByHand(found.incident, caller.aadObjectId ?? caller.name ?? 'someone');
    if (r.created) return { text: `Paging the on-call chain for incident #${found.incident.number}.` };
    return { text: `Incident #${found.incident.number} has already been paged (${r.page?.state ?? 'unknown'}).` };
  },
};
