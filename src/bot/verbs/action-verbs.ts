import { actionOptions } from '../../actions/action-options';
import type { ActionOutcome } from '../../actions/action-service';
import type { Notice } from '../../actions/response-view';
import { untrusted } from '../../cards/markdown';
import { getAction } from '../../store/action-repository';
import { getIncident } from '../../store/incident-repository';
import { clickedIncident } from './clicked-incident';
import type { ActionsDeps, Caller } from '../command';
import { invokeError, numberIn, textIn, type InvokeResult, type VerbDeps, type VerbHandler } from './verb';
import { isGuid } from '../../ids';

const noticeOf = (r: ActionOutcome): Notice => ({ text: untrusted(r.ok ? r.message : r.reason, 400), ok: r.ok });

/** Wraps a handler that needs the action service and a known clicker. */
const withActions =
  (handle: (data: Record<string, unknown>, caller: Caller & { aadObjectId: string }, actions: ActionsDeps, deps: VerbDeps) => Promise<InvokeResult>): VerbHandler =>
  async (data, caller, deps) => {
    if (!deps.actions) return invokeError(400, 'Response actions are not configured in this Vigil (VIGIL_ACTION_POLICY_FILE).');
    if (!caller.aadObjectId) return invokeError(401, 'Teams did not say who you are.');
    return handle(data, { ...caller, aadObjectId: caller.aadObjectId }, deps.actions, deps);
  };

/** After a decision on an existing action: its incident card, or its own card for requests made in chat. */
const redraw = async (deps: VerbDeps, actions: ActionsDeps, r: ActionOutcome, data: Record<string, unknown>, viewer: string, fallbackId: string): Promise<InvokeResult> => {
  const a = r.action ?? (await getAction(deps.db, fallbackId));
  if (!a) return invokeError(404, r.ok ? r.message : r.reason);
  if (a.incidentKey && data.view !== 'action') {
    const stored = await getIncident(deps.db, a.incidentKey);
    if (stored) return { card: await actions.incidentCard(stored.incident, viewer, noticeOf(r)) };
  }
  return { card: await actions.views.actionCard(a, viewer, noticeOf(r)) };
};

const actionIdIn = (data: Record<string, unknown>) => (typeof data.action === 'string' && isGuid(data.action) ? data.action : undefined);

/** "Block IP 203.0.113.66" on an incident card: the option id is looked up again in the stored incident. */
export const requestVerb: VerbHandler = withActions(async (data, caller, actions, deps) => {
  const number = numberIn(data.incident);
  const optionId = textIn(data.option, 40);
  if (!number || !optionId) return invokeError(400, 'This button does not name an incident and an action.');
  const stored = await clickedIncident(deps.db, number, caller, textIn(data.workspace, 32));
  if (!stored) return invokeError(404, `Vigil has no incident #${number}.`);
  const option = actionOptions(stored.incident).find((o) => o.id === optionId);
  if (!option) return { card: await actions.incidentCard(stored.incident, caller.aadObjectId, { text: 'That button is out of date: the incident no longer offers it.', ok: false }) };
  const r = await actions.service.request({ incidentKey: stored.incident.key, target: option.target, by: { id: caller.aadObjectId, name: caller.name } });
  return { card: await actions.incidentCard(stored.incident, caller.aadObjectId, noticeOf(r)) };
});

const decisionVerb = (decide: (actions: ActionsDeps, id: string, caller: Caller & { aadObjectId: string }, data: Record<string, unknown>) => Promise<ActionOutcome>): VerbHandler =>
  withActions(async (data, caller, actions, deps) => {
    const id = actionIdIn(data);
    if (!id) return invokeError(400, 'This button does not name a request.');
    const r = await decide(actions, id, caller, data);
    return redraw(deps, actions, r, data, caller.aadObjectId, id);
  });

export const approveVerb = decisionVerb((actions, id, caller) => actions.service.approve(id, { id: caller.aadObjectId, name: caller.name }));
export const rejectVerb = decisionVerb((actions, id, caller, data) => actions.service.reject(id, { id: caller.aadObjectId, name: caller.name }, textIn(data.reason, 500) || undefined));
export const cancelVerb = decisionVerb((actions, id, caller) => actions.service.cancel(id, { id: caller.aadObjectId, name: caller.name }));
export const undoVerb = decisionVerb((actions, id, caller) => actions.service.undo(id, { id: caller.aadObjectId, name: caller.name }));

/**
 * Universal Actions refresh (and the "Review" buttons): the clicker's own view of an incident card
 * or a request card — Approve and Reject only for those who may decide.
 */
export const refreshVerb: VerbHandler = withActions(async (data, caller, actions, deps) => {
  const id = actionIdIn(data);
  if (id) {
    const a = await getAction(deps.db, id);
    return a ? { card: await actions.views.actionCard(a, caller.aadObjectId) } : invokeError(404, 'That request no longer exists.');
  }
  const number = numberIn(data.incident);
  const stored = number ? await clickedIncident(deps.db, number, caller, textIn(data.workspace, 32)) : undefined;
  return stored ? { card: await actions.incidentCard(stored.incident, caller.aadObjectId) } : invokeError(404, 'Vigil has no such incident.');
});
