import crypto from 'node:crypto';
import type { Db, Queryable } from '../store/db';
import { getAction, type StoredAction } from '../store/action-repository';
import { bumpIncidentVersionIn, getIncident } from '../store/incident-repository';
import { enqueueJob } from '../store/job-queue';
import { FinalJobError, JobPaced, type JobHandler } from '../jobs/job-runner';
import type { ConnectorClient } from '../teams/connector-client';
import type { Pacer } from '../teams/conversation-pacer';
import type { CardAttachment } from '../cards/render-card';
import { queueActionNote } from '../cases/case-jobs';
import { actionComment } from './action-comment';
import type { ActionKind } from './action-kinds';

/** The effects that follow an action's change of state, as durable jobs. */
export const ACTION_JOBS = {
  comment: 'action.sentinel-comment',
  labels: 'action.sentinel-labels',
  chatCard: 'action.chat-card',
} as const;

const LABELS: Record<ActionKind, [string, string]> = {
  'block-ip': ['Vigil: IP blocked', 'Vigil: IP unblocked'],
  'isolate-vm': ['Vigil: host isolated', 'Vigil: host released'],
  'disable-user': ['Vigil: user disabled', 'Vigil: user re-enabled'],
  'block-hash': ['Vigil: hash blocked', 'Vigil: hash unblocked'],
  'add-indicator': ['Vigil: threat intel added', 'Vigil: threat intel removed'],
};

/**
 * Called inside the transaction that changes an action: the incident card's redraw, the chat
 * card's redraw and, once it has ended, the Sentinel comment and label commit with the change, so
 * a process killed right after the commit loses none of them (the job runner does them later).
 */
export async function queueActionEffects(tx: Queryable, a: StoredAction): Promise<void> {
  if (a.incidentKey) await bumpIncidentVersionIn(tx, a.incidentKey);
  if (a.card?.activityId) await queueChatCardRedraw(tx, a.id);
  if (!a.incidentKey || (a.state !== 'succeeded' && a.state !== 'failed')) return;
  await queueActionNote(tx, a.incidentKey, a.id, a.state);
  await enqueueJob(tx, { kind: ACTION_JOBS.comment, key: `action-comment:${a.id}:${a.state}`, payload: { actionId: a.id } });
  if (a.state === 'succeeded') await enqueueJob(tx, { kind: ACTION_JOBS.labels, key: `action-labels:${a.id}`, payload: { actionId: a.id, label: LABELS[a.kind][a.undoOf ? 1 : 0] } });
}

/** The request card in chat drawn again from the action as it is when the job runs (one job per card). */
export async function queueChatCardRedraw(tx: Queryable, actionId: string): Promise<void> {
  await enqueueJob(tx, { kind: ACTION_JOBS.chatCard, key: `action-chat-card:${actionId}`, payload: { actionId }, again: true });
}

/** The Sentinel write-back the effects need: a comment with a chosen id, and labels as a set. */
export interface IncidentWriteBack {
  addComment(incidentArmId: string, commentId: string, message: string): Promise<void>;
  updateIncident?(incidentArmId: string, change: { addLabels?: string[] }): Promise<unknown>;
}

export interface ActionEffectDeps {
  db: Db;
  sentinel?: IncidentWriteBack;
  /** Redraws request cards in chat; without it (a bare worker in tests) chat cards are left alone. */
  chat?: {
    connector: ConnectorClient;
    pacer: Pacer;
    /** The request card as chat shows it now. */
    actionCard: (a: StoredAction) => Promise<CardAttachment>;
  };
}

/** The job runner's handlers for the effects above; each is safe to run twice. */
export function createActionEffectHandlers(d: ActionEffectDeps): Record<string, JobHandler> {
  const actionOf = async (payload: Record<string, unknown>) => {
    const a = await getAction(d.db, String(payload.actionId));
    if (!a) throw new FinalJobError('the action no longer exists');
    return a;
  };
  const armIdOf = async (a: StoredAction) => {
    const stored = a.incidentKey ? await getIncident(d.db, a.incidentKey) : undefined;
    if (!stored) throw new FinalJobError('the incident is no longer stored');
    return stored.incident.id;
  };
  const handlers: Record<string, JobHandler> = {};
  const chat = d.chat;
  if (chat) {
    handlers[ACTION_JOBS.chatCard] = async (job) => {
      const a = await actionOf(job.payload);
      if (!a.card?.activityId) return;
      // Counted against the conversation's budget like every other send to Teams.
      const wait = await chat.pacer.tryAcquire(a.card.conversationId);
      if (wait > 0) throw new JobPaced(wait);
      await chat.connector.updateActivity(a.card.serviceUrl, a.card.conversationId, a.card.activityId, { type: 'message', attachments: [await chat.actionCard(a)] });
    };
  }
  const sentinel = d.sentinel;
  if (!sentinel) return handlers;
  handlers[ACTION_JOBS.comment] = async (job) => {
    const a = await actionOf(job.payload);
    // The comment id comes from the action and its end: a retried write-back replaces, never duplicates.
    const commentId = crypto.createHash('sha256').update(`${a.id}:${a.state}`).digest('hex').slice(0, 32);
    await sentinel.addComment(await armIdOf(a), commentId, await actionComment(d.db, a));
  };
  if (sentinel.updateIncident) {
    const update = sentinel.updateIncident.bind(sentinel);
    // Labels are a set in Sentinel's client: a second run adds nothing.
    handlers[ACTION_JOBS.labels] = async (job) => {
      const a = await actionOf(job.payload);
      await update(await armIdOf(a), { addLabels: [String(job.payload.label)] });
    };
  }
  return handlers;
}
