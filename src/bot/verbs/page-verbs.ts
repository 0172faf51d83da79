import { getPageById, type Page } from '../../store/page-repository';
import type { Caller } from '../command';
import { findResponder } from '../../paging/responders';
import { invokeError, numberIn, textIn, type InvokeResult, type VerbDeps, type VerbHandler } from './verb';

/** Acknowledge on a page card: stops the escalation and answers with the page card as it now is. */
export const acknowledgeVerb: VerbHandler = async (data, caller, deps) => {
  if (!deps.paging) return invokeError(400, 'Paging is not configured.');
  if (!caller.aadObjectId) return invokeError(401, 'Teams did not say who you are.');
  const pageId = numberIn(data.page);
  if (!pageId) return invokeError(400, 'This card does not name a page.');
  const page = await getPageById(deps.db, pageId);
  if (!page) return invokeError(404, 'That page no longer exists.');
  await deps.paging.pager.acknowledge(page.incidentKey, caller.aadObjectId);
  const card = await deps.paging.pager.pageCardFor(pageId);
  return card ? { card } : invokeError(404, 'That page no longer exists.');
};

/** The minutes Snooze offers (the card's choices); anything else is refused. */
export const SNOOZE_MINUTES = [15, 30, 60] as const;

interface Refusal {
  refusal: string;
}

/** A page button that changes the page (Snooze, Reassign): the same checks as Acknowledge, then the page card as it now is. */
const pageVerb =
  (act: (page: Page, caller: Caller & { aadObjectId: string }, data: Record<string, unknown>, deps: VerbDeps) => Promise<unknown>): VerbHandler =>
  async (data, caller, deps): Promise<InvokeResult> => {
    if (!deps.paging) return invokeError(400, 'Paging is not configured.');
    if (!caller.aadObjectId) return invokeError(401, 'Teams did not say who you are.');
    const pageId = numberIn(data.page);
    if (!pageId) return invokeError(400, 'This card does not name a page.');
    const page = await getPageById(deps.db, pageId);
    if (!page) return invokeError(404, 'That page no longer exists.');
    const done = await act(page, { ...caller, aadObjectId: caller.aadObjectId }, data, deps);
    if (typeof done === 'object' && done !== null && 'refusal' in done) return invokeError(400, (done as Refusal).refusal);
    const card = await deps.paging.pager.pageCardFor(pageId);
    return card ? { card } : invokeError(404, 'That page no longer exists.');
  };

/** Snooze: holds the escalation for the chosen time (audited); the page stays open. */
export const snoozeVerb = pageVerb(async (page, caller, data, deps) => {
  const minutes = numberIn(data.snoozeMinutes);
  if (!minutes || !(SNOOZE_MINUTES as readonly number[]).includes(minutes)) return { refusal: `Snooze for ${SNOOZE_MINUTES.join(', ')} minutes.` };
  return deps.paging!.pager.snooze(page.id, minutes, caller.aadObjectId);
});

/**
 * Reassign: to the next level of the escalation chain (the default choice, and a card without the
 * choice), or to the responder chosen, who must be one the on-call schedule names: the card's
 * value is checked against the schedule here, never trusted. Paged now; audited.
 */
export const reassignVerb = pageVerb(async (page, caller, data, deps) => {
  const choice = textIn(data.reassignTo, 320);
  if (choice === '' || choice === 'next') return deps.paging!.pager.reassign(page.id, caller.aadObjectId);
  const to = await findResponder(deps.paging!.schedule, choice, deps.paging!.resolvePerson);
  if (!to) return { refusal: 'Reassign to someone on the on-call schedule: pick one of the card’s responders.' };
  return deps.paging!.pager.reassign(page.id, caller.aadObjectId, to);
});
