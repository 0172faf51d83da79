import { untrusted } from '../../cards/markdown';
import { getIncident } from '../../store/incident-repository';
import { clickedIncident } from './clicked-incident';
import { MAX_COMMENT } from '../../sentinel/incident-writer';
import { closeChoicesFor } from '../../graph/graph-close-choices';
import { incidentRef, portalNameOf, type Incident } from '../../incidents/incident';
import type { Caller } from '../command';
import { invokeError, numberIn, textIn, type InvokeResult, type VerbDeps, type VerbHandler } from './verb';

/** How long a click waits for Sentinel before answering "still working"; the card updates when it is done. */
const ANSWER_WITHIN_MS = 3000;

const settle = async <T>(work: Promise<T>): Promise<{ done: true; value: T } | { done: false }> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ done: false }>((resolve) => (timer = setTimeout(() => resolve({ done: false }), ANSWER_WITHIN_MS)));
  try {
    return await Promise.race([work.then((value) => ({ done: true as const, value })), late]);
  } finally {
    clearTimeout(timer);
  }
};

/**
 * Assign, comment and close: responders only, checked again on every click. The write goes to
 * Sentinel; the clicker's card answers within a few seconds either way, and the shared card
 * changes when Sentinel's answer is stored.
 */
const incidentVerb =
  (
    what: string,
    act: (incident: Incident, caller: Caller & { aadObjectId: string }, data: Record<string, unknown>, deps: VerbDeps) => { refusal: string } | { work: Promise<unknown>; done: string },
  ): VerbHandler =>
  async (data, caller, deps) => {
    if (!caller.aadObjectId) return invokeError(401, 'Teams did not say who you are.');
    const number = numberIn(data.incident);
    const stored = number ? await clickedIncident(deps.db, number, caller, textIn(data.workspace, 32)) : undefined;
    if (!stored) return invokeError(404, 'Vigil has no such incident.');
    const card = async (text: string, ok: boolean): Promise<InvokeResult> => {
      const fresh = (await getIncident(deps.db, stored.incident.key))?.incident ?? stored.incident;
      return { card: deps.actions ? await deps.actions.incidentCard(fresh, caller.aadObjectId, { text: untrusted(text, 400), ok }) : await deps.renderIncidentCard(fresh) };
    };
    const permission = await deps.responders.check(caller.aadObjectId);
    if (!permission.allowed) return card(`You cannot ${what}: only responders can, and ${permission.reason}.`, false);
    const step = act(stored.incident, { ...caller, aadObjectId: caller.aadObjectId }, data, deps);
    if ('refusal' in step) return card(step.refusal, false);
    const work = step.work.catch((e: unknown) => {
      deps.logger.warn({ err: e, incident: number, what }, 'incident write-back failed');
      throw e;
    });
    const r = await settle(work).catch((e: unknown) => ({ done: true as const, error: e }));
    if (!r.done) {
      work.catch(() => undefined);
      return card(`${portalNameOf(stored.incident)} is slow to answer; the card will change when it has.`, true);
    }
    if ('error' in r) return card(`${portalNameOf(stored.incident)} refused: ${(r.error as Error).message ?? 'unexpected error'}`, false);
    return card(step.done, true);
  };

export const assignVerb = incidentVerb('assign incidents', (incident, caller, _data, deps) => ({
  work: deps.incidentWriter.assign(incident, { id: caller.aadObjectId, name: caller.name }),
  done: `Incident ${incidentRef(incident)} is assigned to you.`,
}));

export const commentVerb = incidentVerb('comment on incidents', (incident, caller, data, deps) => {
  const text = textIn(data.comment, MAX_COMMENT);
  if (!text) return { refusal: 'Write a comment first.' };
  return { work: deps.incidentWriter.comment(incident, { id: caller.aadObjectId, name: caller.name }, text), done: `Your comment is on the incident in ${portalNameOf(incident)}.` };
});

/** The close form's comment is `closeComment` (input ids are unique per card); cards posted before that send `comment`. */
export const closeVerb = incidentVerb('close incidents', (incident, caller, data, deps) => {
  const choice = textIn(data.classification, 80);
  const choices = closeChoicesFor(incident);
  if (!Object.hasOwn(choices, choice)) return { refusal: 'Pick a classification to close the incident.' };
  if (incident.status === 'Closed') return { refusal: `Incident ${incidentRef(incident)} is already closed.` };
  return {
    work: deps.incidentWriter.close(incident, { id: caller.aadObjectId, name: caller.name }, choice, textIn(data.closeComment ?? data.comment, MAX_COMMENT)),
    done: `Incident ${incidentRef(incident)} is closed as ${choices[choice]!.label}.`,
  };
});
