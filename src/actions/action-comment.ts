import type { Queryable } from '../store/db';
import type { StoredAction } from '../store/action-repository';
import { teamsUserNames } from '../store/teams-user-repository';
import { actionTitle, targetValue } from './action-kinds';

/**
 * What Vigil writes where the incident is tracked once an action has ended (the Sentinel comment,
 * the case's work note): what was done to what, by whose request and approval, how it ended.
 */
export async function actionComment(db: Queryable, a: StoredAction): Promise<string> {
  const names = await teamsUserNames(db, [a.requestedBy, ...a.approvals]);
  const who = (id: string, fallback?: string) => names.get(id.toLowerCase()) ?? fallback ?? id;
  const took = a.startedAt && a.endedAt ? ` in ${((a.endedAt.getTime() - a.startedAt.getTime()) / 1000).toFixed(1)} s` : '';
  const outcome = a.state === 'failed' ? `failed after ${a.attempts} attempt(s): ${a.result.error}` : `done${took}`;
  return [
    `Vigil: ${actionTitle(a.kind, Boolean(a.undoOf))} ${targetValue(a.target)} — ${outcome}.`,
    `Requested by ${who(a.requestedBy, a.requestedByName)}; approved by ${a.approvals.map((id) => who(id)).join(', ') || 'nobody (no approval needed)'}.`,
    `Finished ${(a.endedAt ?? new Date()).toISOString()}. Vigil action ${a.id}.`,
  ].join('\n');
}
