import crypto from 'node:crypto';

export type PagerDutyWebhookType = 'incident.acknowledged' | 'incident.resolved' | 'incident.reassigned';

export interface PagerDutyUser {
  id: string;
  name: string;
  /** A user (the default), or the service whose integration acted (an Events API acknowledge or resolve). */
  kind?: 'user' | 'service';
}

export interface WebhookOptions {
  /** The PagerDuty incident's id (`PGR0VU2`) and number. */
  incidentId?: string;
  number?: number;
  /** The incident's `incident_key`: the `dedup_key` Vigil sent when it triggered. */
  dedupKey: string;
  title?: string;
  /** Who acted; null when PagerDuty itself did (an auto-resolve). */
  agent?: PagerDutyUser | null;
  /** Who holds the incident afterwards (a reassignment's new assignee). */
  assignees?: PagerDutyUser[];
  occurredAt?: Date;
}

const userRef = (u: PagerDutyUser) => {
  const [path, type] = u.kind === 'service' ? ['services', 'service_reference'] : ['users', 'user_reference'];
  return { html_url: `https://acme.pagerduty.com/${path}/${u.id}`, id: u.id, self: `https://api.pagerduty.com/${path}/${u.id}`, summary: u.name, type };
};

const STATUS: Record<PagerDutyWebhookType, string> = { 'incident.acknowledged': 'acknowledged', 'incident.resolved': 'resolved', 'incident.reassigned': 'triggered' };

/**
 * A v3 webhook payload shaped like PagerDuty's published `incident.priority_updated` example (the
 * only full one it publishes): the same envelope and incident data, with the event type and status changed.
 */
export function buildPagerDutyWebhook(type: PagerDutyWebhookType, o: WebhookOptions): { event: Record<string, unknown> } {
  const id = o.incidentId ?? 'PGR0VU2';
  const agent = o.agent === undefined ? { id: 'PLH1HKV', name: 'Tenex Engineer' } : o.agent;
  return {
    event: {
      id: crypto.randomUUID(),
      event_type: type,
      resource_type: 'incident',
      occurred_at: (o.occurredAt ?? new Date()).toISOString(),
      agent: agent ? userRef(agent) : null,
      client: { name: 'PagerDuty' },
      data: {
        id,
        type: 'incident',
        self: `https://api.pagerduty.com/incidents/${id}`,
        html_url: `https://acme.pagerduty.com/incidents/${id}`,
        number: o.number ?? 2,
        status: STATUS[type],
        incident_key: o.dedupKey,
        created_at: '2020-04-09T15:16:27Z',
        title: o.title ?? 'Sentinel incident #42: Brute force against admin.jane',
        service: { html_url: 'https://acme.pagerduty.com/services/PF9KMXH', id: 'PF9KMXH', self: 'https://api.pagerduty.com/services/PF9KMXH', summary: 'Vigil', type: 'service_reference' },
        assignees: (o.assignees ?? [agent ?? { id: 'PTUXL6G', name: 'User 123' }]).map(userRef),
        escalation_policy: {
          html_url: 'https://acme.pagerduty.com/escalation_policies/PUS0KTE',
          id: 'PUS0KTE',
          self: 'https://api.pagerduty.com/escalation_policies/PUS0KTE',
          summary: 'Default',
          type: 'escalation_policy_reference',
        },
        teams: [],
        priority: null,
        urgency: 'high',
        conference_bridge: null,
        resolve_reason: null,
      },
    },
  };
}

/** `X-PagerDuty-Signature`: `v1=<hex HMAC-SHA256 of the body>` per secret, comma-separated (two during a rotation). */
export const signPagerDutyWebhook = (body: string, secrets: readonly string[]): string => secrets.map((s) => `v1=${crypto.createHmac('sha256', s).update(body).digest('hex')}`).join(',');

/**
 * Sends a signed webhook to `url` the way PagerDuty delivers one (JSON body, signature, webhook id,
 * user agent). `signature` overrides the header (a wrong or missing one, for tests); null sends none.
 */
export async function sendPagerDutyWebhook(
  url: string,
  type: PagerDutyWebhookType,
  o: WebhookOptions & { secrets: readonly string[]; signature?: string | null; webhookId?: string },
): Promise<{ status: number; body: unknown; sent: string }> {
  const sent = JSON.stringify(buildPagerDutyWebhook(type, o));
  const signature = o.signature === undefined ? signPagerDutyWebhook(sent, o.secrets) : o.signature;
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'PagerDuty-Webhook/V3.0',
    'x-webhook-id': o.webhookId ?? crypto.randomUUID(),
    'x-webhook-subscription': 'PY1OQOC',
  };
  if (signature !== null) headers['x-pagerduty-signature'] = signature;
  const res = await fetch(url, { method: 'POST', headers, body: sent, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body, sent };
}
