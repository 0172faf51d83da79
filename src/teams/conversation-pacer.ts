import type { Db } from '../store/db';
import { takeSendSlot, type SendLimit } from '../store/send-budget-repository';
import { channelOfConversation } from '../ids';

/** Teams' documented per-bot, per-conversation send limits. */
export const TEAMS_CONVERSATION_LIMITS: ReadonlyArray<SendLimit> = [
  { max: 7, windowMs: 1_000 },
  { max: 8, windowMs: 2_000 },
  { max: 60, windowMs: 30_000 },
  { max: 1_800, windowMs: 3_600_000 },
];

/**
 * Teams' per-app, per-tenant rate: 30 requests a second in the stored revision of the limits page
 * (Microsoft staff have since quoted 50; contracts/SOURCES.md), so the lower figure.
 */
export const TEAMS_TENANT_LIMITS: ReadonlyArray<SendLimit> = [{ max: 30, windowMs: 1_000 }];

export interface Pacer {
  /**
   * Counts a send to the conversation (and its tenant) and resolves 0 if it may go now; otherwise
   * the wait in ms, and nothing is counted.
   */
  tryAcquire(conversationId: string, tenantId?: string): Promise<number>;
}

export interface PacerOptions {
  conversation?: ReadonlyArray<SendLimit>;
  tenant?: ReadonlyArray<SendLimit>;
  /**
   * Teams counts sends when they arrive, we when the slot is taken: each window is kept this much
   * longer, so that the time between the two (rendering, the network, another replica's) cannot
   * squeeze one send too many into Teams' window. 500 ms: with 250, two replicas on a loaded
   * two-core host put 9 sends into 2 s and 61 into 30 s at the Bot Connector (one send reached it
   * more than 250 ms after its slot).
   */
  slackMs?: number;
  /** Pins the clock (tests); the database's clock otherwise, the one every replica shares. */
  now?: () => number;
}

/**
 * Sliding-window limits per conversation and per tenant, kept in the store: every replica and
 * every restart shares one count, so a storm stays under Teams' limits instead of learning them
 * from 429s (which the outbox still honours).
 */
export function createPacer(db: Db, o: PacerOptions = {}): Pacer {
  const slackMs = o.slackMs ?? 500;
  const widen = (limits: ReadonlyArray<SendLimit>) => limits.map((l) => ({ max: l.max, windowMs: l.windowMs + slackMs }));
  const conversation = widen(o.conversation ?? TEAMS_CONVERSATION_LIMITS);
  const tenant = widen(o.tenant ?? TEAMS_TENANT_LIMITS);
  return {
    tryAcquire(conversationId, tenantId) {
      // A channel thread is its channel as far as Teams' budget goes.
      const budgets = [{ key: `conversation:${channelOfConversation(conversationId)}`, limits: conversation }];
      if (tenantId) budgets.push({ key: `tenant:${tenantId}`, limits: tenant });
      return takeSendSlot(db, budgets, o.now && new Date(o.now()));
    },
  };
}
