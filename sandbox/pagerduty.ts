import crypto from 'node:crypto';
import { sendPagerDutyWebhook, type PagerDutyUser, type PagerDutyWebhookType } from './pagerduty-webhooks';
import { startStandIn, type Reply, type StandIn } from './stand-in';

/** The v3 webhook subscription's secret in the sandbox (`PAGERDUTY_WEBHOOK_SECRETS` in local mode). */
export const SANDBOX_PAGERDUTY_WEBHOOK_SECRET = 'sandbox-pagerduty-webhook-secret';

/** The service Vigil's routing key belongs to: what PagerDuty names as the agent of an Events API acknowledge or resolve. */
const SERVICE: PagerDutyUser = { id: 'PF9KMXH', name: 'Vigil', kind: 'service' };
/** Who the escalation policy assigns a new incident to. */
const FIRST_ON_CALL: PagerDutyUser = { id: 'PTUXL6G', name: 'User 123' };

export interface PagerDutyIncident {
  id: string;
  number: number;
  /** The Events API `dedup_key` it was triggered with. */
  incidentKey: string;
  title: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  assignees: PagerDutyUser[];
}

export interface PagerDutyDelivery {
  type: PagerDutyWebhookType;
  incidentKey: string;
  /** The receiver's answer; 0 when it could not be reached. */
  status: number;
  body: unknown;
}

export interface PagerDutyStandIn extends StandIn {
  /** The incidents the Events API made, oldest first. */
  incidents(): PagerDutyIncident[];
  /** Where v3 webhooks go, signed with `secrets` (the subscription's, two during a rotation); before this, none are sent. */
  subscribe(url: string, secrets: readonly string[]): void;
  /** The webhooks sent so far, with the answers. */
  deliveries(): PagerDutyDelivery[];
  /** Resolves once the webhooks under way have been answered. */
  delivered(): Promise<void>;
}

/** A PagerDuty user id for a name, stable across runs (`P` and six characters, as PagerDuty's look). */
const userFor = (name: string): PagerDutyUser => ({ id: `P${crypto.createHash('sha256').update(name).digest('hex').slice(0, 6).toUpperCase()}`, name });

const ATTEMPTS = 3;

/**
 * PagerDuty as Vigil meets it, both ways. The Events API v2 (`POST /v2/enqueue`) validates what
 * the real one requires, answers 202 with the dedup key or 400 with its error shape, and keeps an
 * incident per dedup key: a trigger opens one (or joins the open one), acknowledge and resolve move
 * it. Every change sends a signed v3 webhook (`incident.acknowledged`, `.resolved`, `.reassigned`;
 * `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>`) to the subscribed URL, as
 * PagerDuty does, retried on a 5xx or no answer. What a person does in PagerDuty's app is a control
 * route: `POST /_control/incidents/<dedup key, id or number>/acknowledge|resolve|reassign` with `{ "by": "<name>" }`
 * (reassign also `"to": "<name>"`), answered once Vigil has answered the webhook, with its answer.
 */
export async function startPagerDuty(options: { port?: number; webhook?: { url: string; secrets: readonly string[] } } = {}): Promise<PagerDutyStandIn> {
  const incidents: PagerDutyIncident[] = [];
  let subscription = options.webhook;
  const deliveries: PagerDutyDelivery[] = [];
  const underWay = new Set<Promise<unknown>>();

  const openIncident = (key: string) => incidents.find((i) => i.incidentKey === key && i.status !== 'resolved');

  const deliver = async (type: PagerDutyWebhookType, incident: PagerDutyIncident, agent: PagerDutyUser): Promise<PagerDutyDelivery | undefined> => {
    const to = subscription;
    if (!to) return undefined;
    // One delivery keeps its webhook id through its retries, as PagerDuty's do.
    const webhookId = crypto.randomUUID();
    let delivery: PagerDutyDelivery = { type, incidentKey: incident.incidentKey, status: 0, body: undefined };
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const answer = await sendPagerDutyWebhook(to.url, type, {
        incidentId: incident.id,
        number: incident.number,
        dedupKey: incident.incidentKey,
        title: incident.title,
        agent,
        assignees: incident.assignees,
        secrets: to.secrets,
        webhookId,
      }).catch((e: unknown) => ({ status: 0, body: e instanceof Error ? e.message : String(e) }));
      delivery = { type, incidentKey: incident.incidentKey, status: answer.status, body: answer.body };
      if (answer.status > 0 && answer.status < 500) break;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
    deliveries.push(delivery);
    return delivery;
  };

  /** An Events API change: its webhook goes out after the 202, as PagerDuty's do. */
  const deliverLater = (type: PagerDutyWebhookType, incident: PagerDutyIncident) => {
    const p = deliver(type, incident, SERVICE).finally(() => underWay.delete(p));
    underWay.add(p);
  };

  const enqueue = (body: unknown): Reply => {
    const b = (body ?? {}) as { routing_key?: string; event_action?: string; dedup_key?: string; payload?: { summary?: string; source?: string; severity?: string } };
    const errors: string[] = [];
    if (!b.routing_key || b.routing_key.length !== 32) errors.push("'routing_key' must be 32 characters");
    if (!['trigger', 'acknowledge', 'resolve'].includes(b.event_action ?? '')) errors.push("'event_action' is invalid");
    if (b.event_action === 'trigger' && (!b.payload?.summary || !b.payload.source || !['critical', 'error', 'warning', 'info'].includes(b.payload.severity ?? '')))
      errors.push("'payload' is invalid or missing");
    if (b.event_action !== 'trigger' && !b.dedup_key) errors.push("'dedup_key' is required");
    if (errors.length > 0) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
    const key = b.dedup_key ?? crypto.randomBytes(16).toString('hex');
    const open = openIncident(key);
    if (b.event_action === 'trigger' && !open) {
      incidents.push({
        id: `Q${crypto.randomBytes(4).toString('hex').toUpperCase().slice(0, 6)}`,
        number: incidents.length + 1,
        incidentKey: key,
        title: b.payload!.summary!.slice(0, 1024),
        status: 'triggered',
        assignees: [FIRST_ON_CALL],
      });
    } else if (b.event_action === 'acknowledge' && open?.status === 'triggered') {
      open.status = 'acknowledged';
      deliverLater('incident.acknowledged', open);
    } else if (b.event_action === 'resolve' && open) {
      open.status = 'resolved';
      deliverLater('incident.resolved', open);
    }
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: key } };
  };

  /** A person acting on the incident in PagerDuty. */
  const control = async (ref: string, action: string, body: unknown): Promise<Reply> => {
    const b = (body ?? {}) as { by?: unknown; to?: unknown };
    if (typeof b.by !== 'string' || b.by.trim() === '') return { status: 400, body: { error: 'say who acts: { "by": "<name>" }' } };
    // By its dedup key (URL-encoded: Vigil's are ARM ids), its id or its number.
    const incident = openIncident(ref) ?? incidents.find((i) => i.status !== 'resolved' && (i.id === ref || String(i.number) === ref));
    if (!incident) return { status: 404, body: { error: `no open incident is ${JSON.stringify(ref.slice(0, 300))} (a dedup key, an id or a number)` } };
    const by = userFor(b.by.trim());
    let type: PagerDutyWebhookType;
    if (action === 'acknowledge') {
      if (incident.status !== 'triggered') return { status: 409, body: { error: `the incident is ${incident.status}` } };
      incident.status = 'acknowledged';
      type = 'incident.acknowledged';
    } else if (action === 'resolve') {
      incident.status = 'resolved';
      type = 'incident.resolved';
    } else if (action === 'reassign') {
      if (typeof b.to !== 'string' || b.to.trim() === '') return { status: 400, body: { error: 'say to whom: { "by": "<name>", "to": "<name>" }' } };
      // A reassignment asks the new assignee to acknowledge afresh.
      incident.status = 'triggered';
      incident.assignees = [userFor(b.to.trim())];
      type = 'incident.reassigned';
    } else return { status: 404, body: { error: `no action ${JSON.stringify(action.slice(0, 40))}: acknowledge, resolve or reassign` } };
    const delivery = await deliver(type, incident, by);
    return { status: 200, body: { incident, delivery: delivery ?? 'no webhook subscription' } };
  };

  const standIn = await startStandIn(
    'pagerduty',
    [
      { method: 'POST', path: '/v2/enqueue', handle: ({ body }) => enqueue(body) },
      { method: 'POST', path: '/_control/incidents/:ref/:action', handle: ({ params, body }) => control(params.ref!, params.action!, body) },
      { method: 'GET', path: '/_control/incidents', handle: () => ({ status: 200, body: { incidents } }) },
    ],
    options,
  );
  return {
    ...standIn,
    incidents: () => incidents.map((i) => ({ ...i, assignees: [...i.assignees] })),
    subscribe(url, secrets) {
      subscription = { url, secrets };
    },
    deliveries: () => [...deliveries],
    async delivered() {
      while (underWay.size > 0) await Promise.all([...underWay]);
    },
    reset() {
      standIn.reset();
      incidents.length = 0;
      deliveries.length = 0;
    },
  };
}
