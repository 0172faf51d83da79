import type { Logger } from '../logger';
import { FinalJobError, JobPaced, type JobHandler } from '../jobs/job-runner';
import { nextHandoff } from '../paging/on-call';
import type { PersonResolver } from '../paging/resolve-person';
import type { Schedule } from '../paging/schedule-types';
import { getConversation, listSubscribedConversations } from '../store/conversation-repository';
import type { Db } from '../store/db';
import { enqueueJob } from '../store/job-queue';
import type { ConnectorClient } from '../teams/connector-client';
import type { Pacer } from '../teams/conversation-pacer';
import { computeShiftSummary, renderShiftSummaryCard } from './shift-summary';

export const SHIFT_SUMMARY_JOB = 'teams.shift-summary';

/** A hand-off older than this when first seen (Vigil was down) gets no summary: it would be news from yesterday. */
const GRACE_MS = 2 * 3_600_000;
/** The longest shift a summary covers when no earlier hand-off is found (a weekly rotation). */
const LONGEST_SHIFT_MS = 8 * 24 * 3_600_000;

/** The hand-offs of every rotation after `after` and at or before `upTo`, oldest first. */
export function handoffsBetween(s: Schedule, after: Date, upTo: Date): Date[] {
  const found: Date[] = [];
  for (let t = after; ;) {
    const next = nextHandoff(s, t);
    if (!next || next.at > upTo) return found;
    found.push(next.at);
    t = next.at;
  }
}

export interface ShiftHandoffOptions {
  db: Db;
  schedule: Schedule;
  clock: () => Date;
  connector: ConnectorClient;
  pacer: Pacer;
  resolvePerson: PersonResolver;
  logger: Logger;
  /** Summaries were queued: send them now rather than at the job runner's next poll. */
  kickJobs?: () => void;
  checkMs?: number;
}

/**
 * The shift summary card in every SOC channel at each rotation hand-off. Every replica checks the
 * clock; the summary for one hand-off and channel is one durable job (its key names both), so it
 * is sent once however many look, and a send that fails is retried, paced like every card.
 */
export function createShiftHandoffs(o: ShiftHandoffOptions) {
  let timer: NodeJS.Timeout | undefined;

  /** Queues the summary of the latest hand-off, if it is recent, for every subscribed channel. */
  const check = async (): Promise<number> => {
    const now = o.clock();
    const handoff = handoffsBetween(o.schedule, new Date(now.getTime() - GRACE_MS), now).at(-1);
    if (!handoff) return 0;
    const channels = (await listSubscribedConversations(o.db)).filter((c) => c.kind === 'channel');
    for (const c of channels) {
      await enqueueJob(o.db, { kind: SHIFT_SUMMARY_JOB, key: `shift-summary:${handoff.toISOString()}:${c.id}`, payload: { handoffAt: handoff.toISOString(), conversationId: c.id } });
    }
    if (channels.length > 0) o.kickJobs?.();
    return channels.length;
  };

  const send: JobHandler = async (job) => {
    const to = new Date(String(job.payload.handoffAt));
    const conversation = await getConversation(o.db, String(job.payload.conversationId));
    if (!conversation?.subscribed) throw new FinalJobError('the channel no longer takes Vigil’s cards');
    const from = handoffsBetween(o.schedule, new Date(to.getTime() - LONGEST_SHIFT_MS), new Date(to.getTime() - 1)).at(-1) ?? new Date(to.getTime() - 24 * 3_600_000);
    const card = renderShiftSummaryCard(await computeShiftSummary(o.db, o.schedule, from, to, (p) => o.resolvePerson(p)));
    const wait = await o.pacer.tryAcquire(conversation.id, conversation.tenantId);
    if (wait > 0) throw new JobPaced(wait);
    await o.connector.sendToConversation(conversation.serviceUrl, conversation.id, { type: 'message', summary: 'Shift hand-off', attachments: [card] });
  };

  return {
    check,
    jobHandlers: { [SHIFT_SUMMARY_JOB]: send } as Record<string, JobHandler>,
    start() {
      timer = setInterval(() => void check().catch((e: unknown) => o.logger.error({ err: e }, 'could not queue the shift summary')), o.checkMs ?? 60_000);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
