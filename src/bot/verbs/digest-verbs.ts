import { clickedIncident } from './clicked-incident';
import { digestOfCard, getDigest } from '../../store/digest-queue';
import { renderDigestCard, withBackToDigest } from '../../teams/render-digest-card';
import { invokeError, numberIn, textIn, type VerbHandler } from './verb';
import { channelOfConversation } from '../../ids';

/**
 * "Open" on a digest line: that incident's full card, as the clicker may see it (their buttons
 * when actions are configured), with a way back to the digest. Only the clicker's view changes;
 * the digest stays as it is for everyone else.
 */
export const openFromDigestVerb: VerbHandler = async (data, caller, deps) => {
  const number = numberIn(data.incident);
  if (!number) return invokeError(400, 'This button does not name an incident.');
  const stored = await clickedIncident(deps.db, number, caller, textIn(data.workspace, 32));
  if (!stored) return invokeError(404, `Vigil has no incident #${number}.`);
  const card = deps.actions ? await deps.actions.incidentCard(stored.incident, caller.aadObjectId) : await deps.renderIncidentCard(stored.incident);
  const digestId = await digestOfCard(deps.db, stored.incident.key, channelOfConversation(caller.conversationId));
  return { card: digestId === undefined ? card : withBackToDigest(card, digestId) };
};

/** "Back to the digest" on a card opened from one: the digest as it reads now, in its own channel only. */
export const showDigestVerb: VerbHandler = async (data, caller, deps) => {
  const id = numberIn(data.digest);
  const digest = id ? await getDigest(deps.db, id) : undefined;
  if (!digest || digest.conversationId !== channelOfConversation(caller.conversationId)) return invokeError(404, 'That digest is not in this channel.');
  return { card: renderDigestCard(digest) };
};
