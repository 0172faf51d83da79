import { untrusted } from '../../cards/markdown';
import { findResponder, scheduleResponders } from '../../paging/responders';
import { getPage } from '../../store/page-repository';
import type { Caller, Command, CommandDeps, Reply } from '../command';
import { findIncident } from './find-incident';

/**
 * `page reassign <n> <person>`: hands the incident's open page to a responder the on-call schedule
 * names (an object id, a UPN or their name), who is paged now; responders only, audited.
 */
async function reassignByChat(args: string, caller: Caller, deps: CommandDeps & { paging: NonNullable<CommandDeps['paging']> }): Promise<Reply> {
  const [ref = '', ...rest] = args.split(/\s+/);
  const person = rest.join(' ').trim();
  if (!ref || !person) return { text: 'Say which incident and to whom: `page reassign 1041 megan.bowen@contoso.example` (or their name).' };
  if (!caller.aadObjectId) return { text: 'Teams did not say who you are.' };
  const permission = await deps.responders.check(caller.aadObjectId);
  if (!permission.allowed) return { text: `Only responders may reassign pages, and ${permission.reason}.` };
  const found = await findIncident(ref, deps);
  if ('text' in found) return found;
  const page = await getPage(deps.db, found.incident.key);
  if (page?.state !== 'open') return { text: `Incident #${found.incident.number} has no open page to reassign${page ? ` (it is ${page.state})` : ''}.` };
  const to = await findResponder(deps.paging.schedule, person, deps.paging.resolvePerson);
  if (!to) {
    const names = await Promise.all(scheduleResponders(deps.paging.schedule).map(async (p) => (await deps.paging.resolvePerson(p)).name));
    return { text: `${untrusted(person, 80)} is not on the on-call schedule. Reassign to one of: ${names.map((n) => untrusted(n, 80)).join(', ')}.` };
  }
  const moved = await deps.paging.pager.reassign(page.id, caller.aadObjectId, to);
  if (!moved) return { text: `Incident #${found.incident.number}'s page was acknowledged or resolved meanwhile; nothing to reassign.` };
  return { text: `Reassigned incident #${found.incident.number}'s page to ${untrusted((await deps.paging.resolvePerson(to)).name, 80)}: paged now.` };
}

/** `page <n>`: wakes the on-call chain for an incident the policy did not page for; `page reassign <n> <person>` hands a page on. */
export const pageCommand: Command = {
  usage: 'page <number>',
  gate: { access: 'oncall', what: 'page the on-call analyst' },
  description: 'Page the on-call analyst about an incident now; `page reassign <number> <person>` hands its page to someone on the schedule',
  async handle(args, caller, deps) {
    if (!deps.paging) return { text: 'Paging is not configured (VIGIL_ONCALL_FILE).' };
    const reassign = /^reassign(?:\s+|$)(.*)$/is.exec(args);
    if (reassign) return reassignByChat(reassign[1]!, caller, { ...deps, paging: deps.paging });
    const found = await findIncident(args, deps);
    if ('text' in found) return found;
    const r = await deps.paging.pager.pageByHand(found.incident, caller.aadObjectId ?? caller.name ?? 'someone');
    if (r.created) return { text: `Paging the on-call chain for incident #${found.incident.number}.` };
    return { text: `Incident #${found.incident.number} has already been paged (${r.page?.state ?? 'unknown'}).` };
  },
};
