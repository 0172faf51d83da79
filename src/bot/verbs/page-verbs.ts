import { getPageById } from '../../store/page-repository';
import { invokeError, numberIn, type VerbHandler } from './verb';

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
