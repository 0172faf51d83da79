import crypto from 'node:crypto';
import { portalNameOf, type Incident } from '../incidents/incident';
import type { Logger } from '../logger';
import type { Db, Queryable } from '../store/db';
import { saveConversation } from '../store/conversation-repository';
import { getIncident } from '../store/incident-repository';
import {
  acknowledgePage,
  addNotice,
  advancePage,
  claimDueNotices,
  completeNotice,
  escalateDuePages,
  getPage,
  getPageById,
  lastReassignmentOf,
  lastResolution,
  lastResolutionOf,
  listNotices,
  openPage,
  reassignPage,
  refreshPageCards,
  reopenPage,
  reschedulePage,
  resolvePage,
  retryNoticeLater,
  type Notice,
  type Page,
  type PageResolution,
} from '../store/page-repository';
import { audit } from '../store/audit-repository';
import { getTeamsUser } from '../store/teams-user-repository';
import { createHttpClient } from '../http/http-client';
import { NO_RETRY } from '../http/retry-policy';
import { UpstreamError } from '../http/upstream-error';
import { BOT_CONNECTOR, type ConnectorClient } from '../teams/connector-client';
import type { Pacer } from '../teams/conversation-pacer';
import { sendRetryDelay, type SendBackoff } from '../teams/send-retry';
import { escalationChain } from './on-call';
import { decidePage } from './page-policy';
import { pagerDutyNameOf } from './pagerduty-events';
import { renderPageCard } from './render-page-card';
import { scheduleResponders } from './responders';
import type { Schedule } from './schedule-types';
import { threadOf } from '../ids';

/** Severities from least to most severe: a rise re-pages a resolved page. */
const SEVERITY_RANK = ['Informational', 'Low', 'Medium', 'High', 'Critical'];

export interface PagerDutyOptions {
  endpoint: string;
  routingKey: string;
}

export interface PagerOptions {
  db: Db;
  schedule: Schedule;
  connector: ConnectorClient;
  /** The outbox's pacer: page cards and mentions count against the same budgets as incident cards. */
  pacer: Pacer;
  /** The outbox's back-off numbers (tests shorten them). */
  backoff?: Partial<SendBackoff>;
  logger: Logger;
  clock: () => Date;
  /** Display name and Entra object id for a person named in the schedule (a GUID or a UPN). */
  resolvePerson: (person: string) => Promise<{ aadObjectId?: string; name: string }>;
  /** The incident's severity as the page card shows it: Vigil's assessment when there is one. */
  severityOf: (incident: Incident) => Promise<string>;
  /** The bot's own Teams id, for creating 1:1 chats (`28:<app id>`). */
  botId?: string;
  pagerDuty?: PagerDutyOptions;
  webhook?: { url: string; secret: string };
  timeoutMs: number;
  pollMs?: number;
}

export interface Pager {
  /** Pages for the incident if the policy says so (once per incident, however often it is asked). */
  consider(incident: Incident, severity: string): Promise<Page | undefined>;
  /** `page <n>`: pages regardless of the policy. */
  pageByHand(incident: Incident, by: string): Promise<{ page?: Page; created: boolean }>;
  acknowledge(incidentKey: string, by: string): Promise<{ page?: Page; acknowledged: boolean }>;
  /** Ends the incident's page: it was closed (by default), or the page was resolved in PagerDuty. */
  resolve(incidentKey: string, why?: PageResolution): Promise<void>;
  /** Holds the escalation for `minutes` (Snooze on the page card). */
  snooze(pageId: number, minutes: number, by: string): Promise<Page | undefined>;
  /**
   * Reassign on the page card, `page reassign`: to the next level now, or to `to` (a responder the
   * schedule names, as `findResponder` returns them), who is paged now and waited for as long as the
   * page's level waits. Audited; undefined when the page is no longer open.
   */
  reassign(pageId: number, by: string, to?: string): Promise<Page | undefined>;
  /** Redraws the incident's page cards (its assessed severity may have changed). */
  refresh(incidentKey: string): Promise<void>;
  /** Escalates what is due and delivers notices; the timer calls it, tests call it after moving the clock. */
  tick(): Promise<void>;
  pageCardFor(pageId: number): Promise<ReturnType<typeof renderPageCard> | undefined>;
  start(): void;
  stop(): Promise<void>;
}

/** Thrown when a conversation's send budget is used up: the notice waits its turn, no attempt counted. */
class Paced extends Error {
  constructor(readonly waitMs: number) {
    super('paced: conversation send budget used up');
  }
}

/**
 * On-call paging. The policy decides; the page and every escalation deadline live in the store,
 * so a restart or a second process neither loses nor repeats one. Each level's notices (a 1:1
 * card, an @mention in the incident card's thread, PagerDuty, a signed webhook) are queued in the
 * same transaction that moves the page on, then delivered with retries; every card of the page
 * is updated when it escalates, is acknowledged or is resolved.
 */
export function createPager(o: PagerOptions): Pager {
  const pollMs = o.pollMs ?? 1_000;
  const backoff: SendBackoff = { baseBackoffMs: o.backoff?.baseBackoffMs ?? 500, maxBackoffMs: o.backoff?.maxBackoffMs ?? 60_000, random: o.backoff?.random };
  // The queue of notices owns retries: each call is one attempt.
  const pagerDuty = o.pagerDuty && createHttpClient({ upstream: 'PagerDuty', baseUrl: o.pagerDuty.endpoint, timeoutMs: o.timeoutMs, retry: NO_RETRY });
  const webhook = o.webhook && createHttpClient({ upstream: 'the page webhook', timeoutMs: o.timeoutMs, retry: NO_RETRY });
  /** Every Teams send of a page waits for the conversation's (and tenant's) budget in the store. */
  const takeTurn = async (conversationId: string, tenantId?: string) => {
    const wait = await o.pacer.tryAcquire(conversationId, tenantId);
    if (wait > 0) throw new Paced(wait);
  };
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;

  const view = async (page: Page) => {
    const stored = await getIncident(o.db, page.incidentKey);
    if (!stored) return undefined;
    const notices = (await listNotices(o.db, page.id)).filter((n) => n.channel === 'teams' || (n.channel === 'mention' && n.target === 'channel'));
    const levels = await Promise.all(notices.map(async (n) => ({ level: n.level, who: n.target === 'channel' ? 'the SOC channel' : (await o.resolvePerson(n.target)).name })));
    const severity = await o.severityOf(stored.incident);
    const ackedByName = page.ackedBy ? ((await getTeamsUser(o.db, page.ackedBy))?.name ?? page.ackedBy) : undefined;
    const reassigned = await reassignedView(page);
    // Reassign offers the schedule's responders by name (the verb checks the choice against the schedule again).
    const responders = page.state === 'open' ? await Promise.all(scheduleResponders(o.schedule).map(async (id) => ({ id, name: (await o.resolvePerson(id)).name }))) : undefined;
    const resolution = page.state === 'resolved' ? await lastResolution(o.db, page.incidentKey) : undefined;
    const resolvedInPagerDutyBy = resolution?.because === 'pagerduty' ? pagerDutyNameOf(resolution.by) : undefined;
    return { incident: stored.incident, card: renderPageCard({ page, incident: stored.incident, severity, levels, ackedByName, reassigned, responders, resolvedInPagerDutyBy }) };
  };

  /** Who the page was last handed to, and by whom, in words; from the audit trail (a reassignment is a decision). */
  const reassignedView = async (page: Page) => {
    const r = await lastReassignmentOf(o.db, page.incidentKey);
    if (!r) return undefined;
    const inPagerDuty = r.via === 'pagerduty';
    const by = pagerDutyNameOf(r.by) ?? (await getTeamsUser(o.db, r.by))?.name ?? (await o.resolvePerson(r.by)).name;
    const to = Array.isArray(r.to) ? r.to.join(', ') : r.to === 'next level' ? 'the next level' : (await o.resolvePerson(r.to)).name;
    return { to, by, inPagerDuty };
  };

  /** One escalation step for a due page, inside its row lock. */
  const step = async (tx: Queryable, page: Page) => {
    const now = o.clock();
    const chain = escalationChain(o.schedule, now);
    const next = page.level + 1;
    if (next > chain.length) {
      await advancePage(tx, page, page.level, undefined);
      await audit(tx, 'vigil', 'page.exhausted', page.incidentKey, { level: page.level });
      return;
    }
    const level = chain[next - 1]!;
    const target = level.target.kind === 'person' ? level.target.person : 'channel';
    if (level.target.kind === 'person') await addNotice(tx, page.id, next, 'teams', target);
    await addNotice(tx, page.id, next, 'mention', target);
    if (next === 1 && o.pagerDuty) await addNotice(tx, page.id, 0, 'pagerduty', 'events-v2');
    if (next === 1 && o.webhook) await addNotice(tx, page.id, 0, 'webhook', 'page');
    await advancePage(tx, page, next, new Date(now.getTime() + level.waitMinutes * 60_000));
    await audit(tx, 'vigil', next === 1 ? 'page.notified' : 'page.escalated', page.incidentKey, { level: next, target, via: level.via });
  };

  const personalConversation = async (aadObjectId: string) => {
    const r = await o.db.query<{ id: string; service_url: string }>(
      `SELECT id, service_url FROM conversations WHERE kind = 'personal' AND lower(reference->'user'->>'aadObjectId') = lower($1) ORDER BY updated_at DESC LIMIT 1`,
      [aadObjectId],
    );
    return r.rows[0];
  };

  const botIdFromReferences = async () => {
    const r = await o.db.query<{ id: string }>(`SELECT reference->'bot'->>'id' AS id FROM conversations WHERE reference->'bot'->>'id' IS NOT NULL LIMIT 1`);
    return r.rows[0]?.id;
  };

  /**
   * The 1:1 chat with a person: the one Teams gave us when they installed Vigil, or one Vigil
   * opens through the Bot Connector (and remembers, so later updates and pages go to the same chat).
   */
  const chatWith = async (aadObjectId: string, name: string): Promise<{ id: string; serviceUrl: string }> => {
    const existing = await personalConversation(aadObjectId);
    if (existing) return { id: existing.id, serviceUrl: existing.service_url };
    const user = await getTeamsUser(o.db, aadObjectId);
    const botId = o.botId ?? (await botIdFromReferences());
    if (!user || !botId) throw new UpstreamError(BOT_CONNECTOR, 404, `${name} has not used Vigil in Teams yet, so there is no chat to page them in`);
    const { id } = await o.connector.createPersonalConversation(user.serviceUrl, { botId, userTeamsId: user.teamsId, tenantId: user.tenantId });
    await saveConversation(o.db, {
      id,
      kind: 'personal',
      tenantId: user.tenantId,
      serviceUrl: user.serviceUrl,
      reference: {
        conversation: { id, conversationType: 'personal', isGroup: false, name: '' },
        user: { id: user.teamsId, name: user.name ?? name, aadObjectId },
        bot: { id: botId, name: 'Vigil' },
        serviceUrl: user.serviceUrl,
        channelId: 'msteams',
      },
      subscribed: false,
    });
    return { id, serviceUrl: user.serviceUrl };
  };

  const deliverTeams = async (n: Notice, page: Page) => {
    const v = await view(page);
    // A page resolved before its first card went out needs no card.
    if (!v || (!n.activityId && page.state !== 'open')) return completeNotice(o.db, n, {});
    const person = await o.resolvePerson(n.target);
    if (!person.aadObjectId) throw new UpstreamError(BOT_CONNECTOR, 404, `${person.name} cannot be reached in Teams: their Entra object id is unknown`);
    const chat = await chatWith(person.aadObjectId, person.name);
    const activity = { type: 'message' as const, summary: `Paged: incident #${v.incident.number}`, attachments: [v.card] };
    const tenantId = (await getTeamsUser(o.db, person.aadObjectId))?.tenantId;
    await takeTurn(n.conversationId ?? chat.id, tenantId);
    if (n.activityId) {
      await o.connector.updateActivity(chat.serviceUrl, n.conversationId ?? chat.id, n.activityId, activity);
      return completeNotice(o.db, n, {});
    }
    const sent = await o.connector.sendToConversation(chat.serviceUrl, chat.id, activity);
    await completeNotice(o.db, n, { conversationId: chat.id, activityId: sent.id });
    await audit(o.db, 'vigil', 'page.sent', page.incidentKey, { level: n.level, to: n.target, channel: 'teams' });
  };

  /** An @mention of the paged person in the incident card's thread, in every channel with the card. */
  const deliverMention = async (n: Notice, page: Page) => {
    if (n.activityId || page.state !== 'open') return completeNotice(o.db, n, { activityId: n.activityId ?? 'skipped' });
    const stored = await getIncident(o.db, page.incidentKey);
    const cards = await o.db.query<{ conversation_id: string; activity_id: string | null; service_url: string }>(
      `SELECT c.conversation_id, c.activity_id, v.service_url FROM incident_cards c JOIN conversations v ON v.id = c.conversation_id
       WHERE c.incident_key = $1 AND v.subscribed`,
      [page.incidentKey],
    );
    // The page can be faster than the incident card itself: wait for the card to have a thread.
    if (cards.rows.some((c) => !c.activity_id)) throw new UpstreamError(BOT_CONNECTOR, 0, 'the incident card is not in the channel yet');
    const person = n.target === 'channel' ? undefined : await o.resolvePerson(n.target);
    const user = person?.aadObjectId ? await getTeamsUser(o.db, person.aadObjectId) : undefined;
    for (const c of cards.rows) {
      await takeTurn(c.conversation_id, user?.tenantId);
      await o.connector.sendToConversation(c.service_url, threadOf(c.conversation_id, c.activity_id!), {
        type: 'message',
        ...pageMention(
          person?.name,
          user?.teamsId,
          `: you are paged for incident #${stored?.incident.number} (level ${n.level}). Acknowledge in your chat with Vigil or type \`ack ${stored?.incident.number}\`.`,
        ),
      });
    }
    await completeNotice(o.db, n, { activityId: 'sent' });
  };

  const eventAction = (p: Page) => (p.state === 'open' ? 'trigger' : p.state === 'acknowledged' ? 'acknowledge' : 'resolve');

  const deliverPagerDuty = async (n: Notice, page: Page) => {
    const stored = await getIncident(o.db, page.incidentKey);
    const body = {
      routing_key: o.pagerDuty!.routingKey,
      event_action: eventAction(page),
      dedup_key: page.incidentKey,
      payload:
        page.state === 'open'
          ? {
              summary: `${stored ? portalNameOf(stored.incident) : 'Sentinel'} incident #${stored?.incident.number}: ${stored?.incident.title.slice(0, 900)}`,
              source: stored && portalNameOf(stored.incident) === 'Defender' ? 'Vigil (Microsoft Defender XDR)' : 'Vigil (Microsoft Sentinel)',
              severity: 'critical',
              custom_details: { reason: page.reason },
            }
          : undefined,
      links: stored ? [{ href: stored.incident.url, text: `Open in ${portalNameOf(stored.incident)}` }] : undefined,
    };
    await pagerDuty!.request({ method: 'POST', path: '/v2/enqueue', body });
    await completeNotice(o.db, n, {});
    await audit(o.db, 'vigil', 'page.sent', page.incidentKey, { channel: 'pagerduty', action: body.event_action });
  };

  const deliverWebhook = async (n: Notice, page: Page) => {
    const stored = await getIncident(o.db, page.incidentKey);
    const body = JSON.stringify({
      event: `page.${page.state}`,
      page: { id: page.id, level: page.level, reason: page.reason, ackedBy: page.ackedBy ?? null },
      incident: { id: stored?.incident.id, number: stored?.incident.number, title: stored?.incident.title, url: stored?.incident.url },
    });
    const signature = crypto.createHmac('sha256', o.webhook!.secret).update(body).digest('hex');
    await webhook!.request({ method: 'POST', path: o.webhook!.url, raw: { contentType: 'application/json', data: body }, headers: { 'x-vigil-signature': `sha256=${signature}` } });
    await completeNotice(o.db, n, {});
  };

  const deliver = async (n: Notice) => {
    const page = await getPageById(o.db, n.pageId);
    if (!page) return completeNotice(o.db, n, {});
    try {
      if (n.channel === 'teams') await deliverTeams(n, page);
      else if (n.channel === 'mention') await deliverMention(n, page);
      else if (n.channel === 'pagerduty') await deliverPagerDuty(n, page);
      else await deliverWebhook(n, page);
    } catch (e) {
      if (e instanceof Paced) return retryNoticeLater(o.db, n, e.waitMs, e.message, true);
      const { delayMs, status } = sendRetryDelay(e, n.attempts, backoff);
      const message = e instanceof Error ? e.message : String(e);
      o.logger.warn({ page: n.pageId, channel: n.channel, status, retryInMs: Math.round(delayMs) }, `page notice not delivered: ${message}`);
      await retryNoticeLater(o.db, n, delayMs, message);
    }
  };

  /**
   * A resolved page opens again when the incident was reopened (its page was resolved by the close)
   * or its severity rose above the one it was paged at; a page resolved in PagerDuty stays resolved otherwise.
   */
  const pageAgain = async (incident: Incident, severity: string, because: string) => {
    const page = await getPage(o.db, incident.key);
    if (page?.state !== 'resolved') return undefined;
    const pagedAt = /severity (\w+)/.exec(page.reason)?.[1];
    const rose = pagedAt !== undefined && SEVERITY_RANK.indexOf(severity) > SEVERITY_RANK.indexOf(pagedAt);
    const reopened = (await lastResolutionOf(o.db, incident.key)) === 'closed';
    if (!rose && !reopened) return undefined;
    return reopenPage(o.db, incident.key, `${because} (${reopened ? 'reopened' : `severity rose from ${pagedAt}`})`, 'policy', o.clock());
  };

  const tick = async () => {
    await escalateDuePages(o.db, o.clock(), step);
    for (;;) {
      const due = await claimDueNotices(o.db, 20, 30_000);
      if (due.length === 0) break;
      await Promise.all(due.map(deliver));
    }
  };

  const runTick = () => {
    ticking ??= tick()
      .catch((e: unknown) => o.logger.error({ err: e }, 'paging tick failed'))
      .finally(() => (ticking = undefined));
    return ticking;
  };

  return {
    async consider(incident, severity) {
      if (incident.status === 'Closed') {
        await this.resolve(incident.key);
        return undefined;
      }
      const decision = decidePage(o.schedule, incident, severity, o.clock());
      if (!decision.page) return undefined;
      const page = (await openPage(o.db, incident.key, decision.because, 'policy', o.clock())) ?? (await pageAgain(incident, severity, decision.because));
      if (page) void runTick();
      return page;
    },
    async pageByHand(incident, by) {
      const page = await openPage(o.db, incident.key, `paged by hand`, by, o.clock());
      if (page) await runTick();
      return page ? { page, created: true } : { page: await getPage(o.db, incident.key), created: false };
    },
    async acknowledge(incidentKey, by) {
      const r = await acknowledgePage(o.db, incidentKey, by, o.clock());
      if (r.acknowledged) await runTick();
      return r;
    },
    async resolve(incidentKey, why) {
      if (await resolvePage(o.db, incidentKey, o.clock(), why)) await runTick();
    },
    async snooze(pageId, minutes, by) {
      const page = await reschedulePage(o.db, pageId, new Date(o.clock().getTime() + minutes * 60_000), by, 'page.snoozed', { minutes });
      if (page) void runTick();
      return page;
    },
    async reassign(pageId, by, to) {
      if (to === undefined) {
        const next = await reschedulePage(o.db, pageId, o.clock(), by, 'page.reassigned', { to: 'next level' });
        if (next) await runTick();
        return next;
      }
      // A page not notified yet takes its first step (PagerDuty, the webhook) before it is handed on.
      if ((await getPageById(o.db, pageId))?.level === 0) await runTick();
      const now = o.clock();
      const page = await reassignPage(o.db, pageId, to, by, (p) => {
        const chain = escalationChain(o.schedule, now);
        const level = Math.min(Math.max(p.level, 1), chain.length);
        return { level, nextAt: new Date(now.getTime() + chain[level - 1]!.waitMinutes * 60_000) };
      });
      if (page) await runTick();
      return page;
    },
    async refresh(incidentKey) {
      if ((await refreshPageCards(o.db, incidentKey)) > 0) await runTick();
    },
    tick: runTick,
    async pageCardFor(pageId) {
      const page = await getPageById(o.db, pageId);
      return page ? (await view(page))?.card : undefined;
    },
    start() {
      timer = setInterval(() => void runTick(), pollMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await ticking;
    },
  };
}

/**
 * The paging line in a channel thread: a real Teams mention (`<at>Name</at>` in the text and the
 * same string in a `mention` entity with the user's Teams id) when Vigil knows their Teams id,
 * else their name; the channel as a whole when nobody is named.
 */
export function pageMention(name: string | undefined, teamsId: string | undefined, rest: string): { text: string; entities?: Array<{ type: string; [k: string]: unknown }> } {
  if (!name) return { text: `Everyone on this channel${rest}` };
  if (!teamsId) return { text: `${name}${rest}` };
  const at = `<at>${name}</at>`;
  return { text: `${at}${rest}`, entities: [{ type: 'mention', text: at, mentioned: { id: teamsId, name } }] };
}
