import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { Db } from '../store/db';
import { claimDueCards, completeCard, deferConversationCards, forgetCardActivity, msUntilNextDelivery, retryCardLater, type CardJob } from '../store/card-queue';
import { getConversation } from '../store/conversation-repository';
import { foldWaitingCards, settleFoldedCards, type DigestPolicy } from '../store/digest-fold';
import { claimDueDigests, completeDigest, forgetDigestActivity, getDigest, retryDigestLater, type DigestJob } from '../store/digest-queue';
import type { CardAttachment } from '../cards/render-card';
import { cardBytes, tighterBudget, type CardBudget } from '../cards/budget';
import { renderDigestCard } from './render-digest-card';
import { isTooLarge, type ConnectorClient } from './connector-client';
import type { Pacer } from './conversation-pacer';
import { sendRetryDelay } from './send-retry';

export interface OutboxOptions {
  db: Db;
  connector: ConnectorClient;
  pacer: Pacer;
  /**
   * The incident's card as it should look now (incident and enrichment), or undefined if it is gone;
   * within `budget` when given (after Teams refused a larger one), else within the default budget.
   */
  renderCard: (incidentKey: string, budget?: CardBudget) => Promise<{ card: CardAttachment; summary: string } | undefined>;
  logger: Logger;
  metrics: Metrics;
  /** How long a claimed card stays ours before another process may take it. */
  leaseMs?: number;
  /** Cards claimed per round; sends to one conversation still go one at a time. */
  batchSize?: number;
  /** Longest sleep between looks at the queue (other replicas may have added work). */
  pollMs?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Waits shorter than this are slept in place; longer ones go back to the queue, where the next
   * claim takes the most severe incidents first. 0 (the default): a storm is always ordered by
   * severity, never by arrival.
   */
  maxInlineWaitMs?: number;
  /** Least time between two updates of one card; changes made meanwhile go out together. */
  updateSpacingMs?: number;
  /** Storms: lower-severity cards fold into one digest card per channel. Undefined: never fold. */
  digest?: DigestPolicy;
  random?: () => number;
}

type Rendered = { card: CardAttachment; summary: string };

/** One thing to send to one conversation: an incident's card or a channel's storm digest. */
interface Delivery {
  kind: 'card' | 'digest';
  /** What the logs name it by. */
  what: Record<string, string | number>;
  conversationId: string;
  activityId?: string;
  attempts: number;
  requestedAt: Date;
  /** Claimed after another process's lease ran out mid-send: it may have posted already. */
  takenOver: boolean;
  render(budget?: CardBudget): Promise<Rendered | undefined>;
  complete(activityId: string | undefined, spacingMs?: number): Promise<void>;
  retryLater(delayMs: number, error: string, paced?: boolean): Promise<void>;
  forget(): Promise<void>;
}

export interface Outbox {
  /** Looks at the queue now (call after storing a change) instead of at the next poll. */
  kick(): void;
  start(): void;
  /** Stops polling and waits for sends in flight. */
  stop(): Promise<void>;
  /** Resolves once nothing is due or in flight (tests, shutdown). */
  idle(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Conversations × cards whose size Teams refused: remembered so later versions start small. */
const MAX_SIZE_CAPS = 10_000;

/**
 * Delivers incident cards from the store's queue to Teams: posts a card once, then updates that
 * same activity for every later version. Per conversation it sends one at a time within Teams'
 * limits; on 429/412/5xx it backs off with full jitter, never sooner than `Retry-After`, and the
 * card stays queued in the database until delivered, so neither a slow connector nor a restart
 * loses one. In a storm (`digest`) a channel's waiting Medium/Low/Informational cards fold into
 * one digest card, posted once and updated in place under the same pacing; High cards, and those
 * enrichment assessed High or Critical, always go out on their own.
 */
export function createOutbox(o: OutboxOptions): Outbox {
  const leaseMs = o.leaseMs ?? 30_000;
  const batchSize = o.batchSize ?? 50;
  const pollMs = o.pollMs ?? 1_000;
  const baseBackoffMs = o.baseBackoffMs ?? 500;
  const maxBackoffMs = o.maxBackoffMs ?? 60_000;
  const maxInlineWaitMs = o.maxInlineWaitMs ?? 0;
  const random = o.random ?? Math.random;
  const updateSpacingMs = o.updateSpacingMs ?? 1_000;

  const chains = new Map<string, Promise<void>>();
  /** A paced conversation's next free slot: cards claimed with it wait their turn in the queue. */
  const pausedUntil = new Map<string, number>();
  let inFlight = 0;
  let draining = false;
  /** The drain under way, so `stop` can wait for the sends it is about to start. */
  let drainDone: Promise<void> = Promise.resolve();
  let again = false;
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  const idleWaiters = new Set<() => void>();
  /** The tightest budget a card needed after a 413, per card and conversation (this process only). */
  const sizeCaps = new Map<string, CardBudget>();
  const capKey = (job: Delivery) => `${job.conversationId}\u0000${job.kind}\u0000${Object.values(job.what).join('\u0000')}`;
  const rememberCap = (job: Delivery, budget: CardBudget) => {
    if (sizeCaps.size >= MAX_SIZE_CAPS) sizeCaps.delete(sizeCaps.keys().next().value!);
    sizeCaps.set(capKey(job), budget);
  };

  /**
   * How long a card's next version waits after this send. Updates are spaced (enrichment results
   * arriving one after another fold into one update); the first post is followed at once.
   */
  const spacingAfter = (job: Delivery) => (job.activityId ? updateSpacingMs : 0);

  const cardDelivery = (job: CardJob): Delivery => ({
    kind: 'card',
    what: { incident: job.incidentKey },
    conversationId: job.conversationId,
    activityId: job.activityId,
    attempts: job.attempts,
    requestedAt: job.requestedAt,
    takenOver: job.takenOver,
    render: (budget) => o.renderCard(job.incidentKey, budget),
    complete: (activityId, spacingMs) => completeCard(o.db, job, activityId, spacingMs),
    retryLater: (delayMs, error, paced) => retryCardLater(o.db, job, delayMs, error, paced),
    forget: () => forgetCardActivity(o.db, job),
  });

  const digestDelivery = (job: DigestJob): Delivery => ({
    kind: 'digest',
    what: { digest: job.digestId },
    conversationId: job.conversationId,
    activityId: job.activityId,
    attempts: job.attempts,
    requestedAt: job.requestedAt,
    takenOver: job.takenOver,
    async render(budget) {
      const digest = await getDigest(o.db, job.digestId);
      if (!digest || digest.lines.length === 0) return undefined;
      return { card: renderDigestCard(digest, new Date(), budget), summary: `Storm digest: ${digest.lines.length} incidents` };
    },
    complete: (activityId, spacingMs) => completeDigest(o.db, job, activityId, spacingMs),
    retryLater: (delayMs, error, paced) => retryDigestLater(o.db, job, delayMs, error, paced),
    forget: () => forgetDigestActivity(o.db, job),
  });

  /**
   * Sends the card, then, if Teams refuses it as too large (413 `MessageSizeTooBig`), renders it
   * again within a tighter budget and sends that — each attempt smaller than the one refused, down
   * to the minimal card; never the same card twice. If even that is refused, this version is given
   * up (logged and counted) rather than retried for ever; the next change of the card tries again.
   */
  const deliver = async (job: Delivery): Promise<void> => {
    // A paced conversation's card goes back to the queue before it is read and rendered: a backlog
    // waiting for Teams' budget must not spend the store (PGlite's one connection) and the CPU on
    // renders that cannot be sent, while a click waits for its answer.
    const paused = (pausedUntil.get(job.conversationId) ?? 0) - Date.now();
    if (paused > maxInlineWaitMs) {
      await job.retryLater(paused, 'paced: conversation send budget used up', true);
      return;
    }
    const conversation = await getConversation(o.db, job.conversationId);
    let budget = sizeCaps.get(capKey(job));
    let rendered = conversation?.subscribed ? await job.render(budget) : undefined;
    if (!conversation?.subscribed || !rendered) {
      // Unsubscribed since the card was asked for: nothing to deliver there any more.
      await job.complete(job.activityId);
      return;
    }
    if (job.takenOver) o.metrics.outboxTakeovers.inc({ kind: job.kind, op: job.activityId ? 'update' : 'post' });
    for (;;) {
      if (!(await takeTurn(job, conversation.tenantId))) return;
      const activity = { type: 'message' as const, attachments: [rendered.card], summary: rendered.summary };
      try {
        let activityId = job.activityId;
        if (activityId) {
          await o.connector.updateActivity(conversation.serviceUrl, conversation.id, activityId, activity);
        } else {
          activityId = (await o.connector.sendToConversation(conversation.serviceUrl, conversation.id, activity)).id;
        }
        await job.complete(activityId, spacingAfter(job));
        const op = job.activityId ? 'update' : 'post';
        o.metrics.cardsDelivered.inc({ op: job.kind === 'digest' ? `digest_${op}` : op });
        o.metrics.cardLatency.observe(Math.max(0, Date.now() - job.requestedAt.getTime()) / 1000);
        return;
      } catch (e) {
        if (!isTooLarge(e)) return handleFailure(job, e);
        o.metrics.cardFailures.inc({ status: '413' });
        const refused = cardBytes(rendered.card);
        const tighter = tighterBudget(refused);
        const smaller = tighter && (await job.render(tighter));
        const log = { ...job.what, conversation: job.conversationId, refusedBytes: refused };
        if (!smaller || cardBytes(smaller.card) >= refused) {
          o.logger.error({ ...log, smallestBytes: smaller ? cardBytes(smaller.card) : undefined }, 'Teams refused the card as too large even at its smallest; this version is not delivered');
          await job.complete(job.activityId);
          return;
        }
        o.logger.warn({ ...log, budgetBytes: tighter.maxBytes, nextBytes: cardBytes(smaller.card) }, 'Teams refused the card as too large; sending a smaller one');
        // Remembered at once: if pacing sends this job back to the queue, it comes back small too.
        rememberCap(job, tighter);
        budget = tighter;
        rendered = smaller;
      }
    }
  };

  /** Waits for the conversation's send budget; false when the job went back to the queue instead. */
  const takeTurn = async (job: Delivery, tenantId?: string): Promise<boolean> => {
    for (;;) {
      // Once one card of a claimed batch is paced, the rest of that conversation's batch goes back
      // too, so the next claim, not the order of this batch, decides (most severe first).
      const paused = (pausedUntil.get(job.conversationId) ?? 0) - Date.now();
      const wait = paused > 0 ? paused : await o.pacer.tryAcquire(job.conversationId, tenantId);
      if (wait > 0) pausedUntil.set(job.conversationId, Date.now() + wait);
      if (wait === 0) return true;
      if (wait > maxInlineWaitMs) {
        await job.retryLater(wait, 'paced: conversation send budget used up', true);
        // The rest of the conversation's queue waits too, set aside at once (digests are few).
        if (paused <= 0) await deferConversationCards(o.db, job.conversationId, wait);
        return false;
      }
      await sleep(wait);
    }
  };

  const handleFailure = async (job: Delivery, e: unknown) => {
    const { retriable, delayMs: delay, status } = sendRetryDelay(e, job.attempts, { baseBackoffMs, maxBackoffMs, random });
    const message = e instanceof Error ? e.message : String(e);
    o.metrics.cardFailures.inc({ status: String(status) });
    if (status === 404 && job.activityId) {
      o.logger.warn({ ...job.what, conversation: job.conversationId }, 'card activity is gone; posting it again');
      await job.forget();
      return;
    }
    o.logger[retriable ? 'info' : 'error']({ ...job.what, conversation: job.conversationId, status, attempts: job.attempts, retryInMs: Math.round(delay) }, `card delivery failed: ${message}`);
    await job.retryLater(delay, message);
  };

  /** Sends to one conversation strictly in order; different conversations run side by side. */
  const enqueue = (job: Delivery) => {
    inFlight += 1;
    const previous = chains.get(job.conversationId) ?? Promise.resolve();
    const next = previous
      .then(() => deliver(job))
      .catch((e: unknown) => o.logger.error({ err: e, ...job.what }, 'card delivery crashed; the lease will expire and it will be retried'))
      .finally(() => {
        inFlight -= 1;
        if (chains.get(job.conversationId) === next) chains.delete(job.conversationId);
        kick();
      });
    chains.set(job.conversationId, next);
  };

  const drain = () => {
    if (draining) {
      again = true;
      return drainDone;
    }
    draining = true;
    drainDone = drainQueue();
    return drainDone;
  };

  const drainQueue = async () => {
    try {
      do {
        again = false;
        const room = batchSize - inFlight;
        if (room <= 0 || !running) break;
        await foldStorms();
        const jobs = await claimDueCards(o.db, room, leaseMs);
        // After the cards (most severe first), so a channel's High cards go out before its digest.
        const digests = await claimDueDigests(o.db, room - jobs.length, leaseMs);
        for (const job of jobs) enqueue(cardDelivery(job));
        for (const job of digests) enqueue(digestDelivery(job));
        if (jobs.length + digests.length === room) again = true;
      } while (again);
      // With cards on their way, each one's end drains again and asks the store what is due next
      // then; asking now would put one more statement before them on PGlite's one connection.
      if (inFlight > 0) schedule(pollMs);
      else await scheduleNext();
    } catch (e) {
      o.logger.error({ err: e }, 'outbox could not read its queue; retrying');
      schedule(pollMs);
    } finally {
      draining = false;
      notifyIdle();
    }
  };

  /**
   * Moves changes of folded incidents to their digests (always: digests from before a restart with
   * folding turned off still deliver), then folds channels whose backlog is too long.
   */
  const foldStorms = async () => {
    const settled = await settleFoldedCards(o.db);
    if (settled.promoted > 0) o.metrics.cardsPromoted.inc(settled.promoted);
    if (!o.digest) return;
    const folded = await foldWaitingCards(o.db, o.digest);
    if (folded > 0) {
      o.metrics.cardsFolded.inc(folded);
      o.logger.info({ folded }, 'storm: folded lower-severity cards into a digest');
    }
  };

  const schedule = (ms: number) => {
    if (!running) return;
    clearTimeout(timer);
    timer = setTimeout(kick, ms);
    timer.unref();
  };

  const scheduleNext = async () => {
    if (!running) return;
    const due = await msUntilNextDelivery(o.db);
    schedule(Math.min(pollMs, due === undefined ? pollMs : Math.max(due, 5)));
  };

  const notifyIdle = () => {
    if (inFlight > 0 || draining) return;
    void msUntilNextDelivery(o.db)
      .then((due) => {
        if (due === undefined && inFlight === 0 && !draining) for (const wake of [...idleWaiters]) wake();
      })
      // The store is closing or unreachable: nobody is woken, and the next drain looks again.
      .catch(() => undefined);
  };

  function kick() {
    if (!running) return;
    void drain();
  }

  return {
    kick,
    start() {
      running = true;
      kick();
    },
    async stop() {
      running = false;
      clearTimeout(timer);
      // A drain that had already claimed its jobs starts their sends after this point; wait for it
      // first, or a stopped outbox would still post.
      await drainDone;
      while (chains.size > 0) await Promise.allSettled([...chains.values()]);
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.add(() => {
          idleWaiters.clear();
          resolve();
        });
        notifyIdle();
      });
    },
  };
}
