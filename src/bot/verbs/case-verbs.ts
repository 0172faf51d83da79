import { untrusted } from '../../cards/markdown';
import { CASE_SYSTEM_NAMES } from '../../cases/case-system';
import { clickedIncident } from './clicked-incident';
import { invokeError, numberIn, textIn, type VerbHandler } from './verb';

/**
 * "Open ticket" on the incident card: the same one case.create job as `ticket <n>` and the policy,
 * so a double click or two responders at once still make one case. The clicker's card says it is coming.
 */
export const openCaseVerb: VerbHandler = async (data, caller, deps) => {
  if (!caller.aadObjectId) return invokeError(401, 'Teams did not say who you are.');
  const number = numberIn(data.incident);
  const stored = number ? await clickedIncident(deps.db, number, caller, textIn(data.workspace, 32)) : undefined;
  if (!stored) return invokeError(404, 'Vigil has no such incident.');
  if (!deps.cases) return invokeError(400, 'Vigil has no case system configured.');
  await deps.cases.open(stored.incident.key, caller.name ?? caller.aadObjectId);
  const text = untrusted(`Opening a ${CASE_SYSTEM_NAMES[deps.cases.system]} case; its number will be on the card.`, 200);
  return { card: deps.actions ? await deps.actions.incidentCard(stored.incident, caller.aadObjectId, { text, ok: true }) : await deps.renderIncidentCard(stored.incident) };
};
