import crypto from 'node:crypto';
import { z } from 'zod';

/** What PagerDuty said happened to one of its incidents, parsed from a verified v3 webhook. */
export interface PagerDutyIncidentEvent {
  type: 'acknowledged' | 'resolved' | 'reassigned';
  /** The webhook's event id; `webhookId` (X-Webhook-Id) is the same on every retry of one delivery. */
  eventId: string;
  webhookId?: string;
  incidentId: string;
  incidentNumber?: number;
  /** The incident's `incident_key`: the `dedup_key` Vigil sent with Events v2 (the incident's key). */
  dedupKey?: string;
  title?: string;
  url?: string;
  /** Who did it: a user (or a service, an integration); absent when PagerDuty itself did. */
  by?: { id: string; name: string; type: string };
  /** Who holds the incident now (after a reassignment). */
  assignees: Array<{ id: string; name: string }>;
  at: Date;
}

export interface PagerDutyWebhookDeps {
  /** The subscription's secrets; more than one while a secret is being rotated. */
  secrets: readonly string[];
  /** Applies the event to the page (acknowledge, resolve, reassign); must be idempotent (deliveries repeat). */
  apply(event: PagerDutyIncidentEvent): Promise<unknown>;
}

export interface WebhookAnswer {
  status: number;
  body: { status: string; message: string };
}

/** PagerDuty guarantees deliveries up to 55 KB and tries up to 256 KB. */
export const MAX_WEBHOOK_BYTES = 512 * 1024;

const HANDLED = { 'incident.acknowledged': 'acknowledged', 'incident.resolved': 'resolved', 'incident.reassigned': 'reassigned' } as const;

const reference = z.object({ id: z.string().min(1), summary: z.string().optional(), type: z.string().optional() }).loose();

const envelope = z.object({
  event: z
    .object({
      id: z.string().min(1),
      event_type: z.string().min(1),
      resource_type: z.string().optional(),
      occurred_at: z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be a time'),
      agent: reference.nullish(),
      data: z.unknown(),
    })
    .loose(),
});

const incidentData = z
  .object({
    id: z.string().min(1),
    type: z.literal('incident'),
    number: z.number().int().optional(),
    incident_key: z.string().nullish(),
    title: z.string().optional(),
    html_url: z.string().optional(),
    assignees: z.array(reference).default([]),
  })
  .loose();

const header = (headers: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const found = Object.entries(headers).find(([k]) => k.toLowerCase() === name);
  const v = found?.[1];
  return Array.isArray(v) ? v.join(',') : v;
};

/**
 * Whether `signatureHeader` (`v1=<hex>[,v1=<hex>…]`) holds an HMAC-SHA256 of the raw body under any
 * of the secrets. Every comparison is constant-time over equal-length digests.
 */
export function verifyPagerDutySignature(rawBody: Buffer, signatureHeader: string | undefined, secrets: readonly string[]): boolean {
  if (!signatureHeader || secrets.length === 0) return false;
  const presented = signatureHeader
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^v1=[0-9a-f]{64}$/i.test(s))
    .map((s) => Buffer.from(s.slice(3).toLowerCase(), 'hex'));
  if (presented.length === 0) return false;
  let ok = false;
  for (const secret of secrets) {
    const expected = crypto.createHmac('sha256', secret).update(rawBody).digest();
    for (const p of presented) ok = crypto.timingSafeEqual(p, expected) || ok;
  }
  return ok;
}

/** The typed event in a webhook body, `ignored` for a valid webhook of another kind, or why it is not a webhook. */
export function parsePagerDutyWebhook(body: unknown, webhookId?: string): { event: PagerDutyIncidentEvent } | { ignored: string } | { invalid: string } {
  const env = envelope.safeParse(body);
  if (!env.success)
    return {
      invalid: `not a PagerDuty v3 webhook: ${env.error.issues
        .map((i) => `${i.path.join('.') || '(body)'} ${i.message}`)
        .join('; ')
        .slice(0, 300)}`,
    };
  const e = env.data.event;
  const type = HANDLED[e.event_type as keyof typeof HANDLED];
  if (!type) return { ignored: `${e.event_type.slice(0, 80)} is not an event Vigil acts on` };
  const data = incidentData.safeParse(e.data);
  if (!data.success)
    return {
      invalid: `${e.event_type} without an incident: ${data.error.issues
        .map((i) => `data.${i.path.join('.')} ${i.message}`)
        .join('; ')
        .slice(0, 300)}`,
    };
  const d = data.data;
  const named = (r: z.infer<typeof reference>) => ({ id: r.id, name: r.summary ?? r.id });
  return {
    event: {
      type,
      eventId: e.id,
      webhookId,
      incidentId: d.id,
      incidentNumber: d.number,
      dedupKey: d.incident_key ?? undefined,
      title: d.title,
      url: d.html_url,
      by: e.agent ? { ...named(e.agent), type: e.agent.type ?? 'user_reference' } : undefined,
      assignees: d.assignees.map(named),
      at: new Date(e.occurred_at),
    },
  };
}

const answer = (status: number, s: string, message: string): WebhookAnswer => ({ status, body: { status: s, message } });

/**
 * A PagerDuty v3 webhook delivery, independent of the web framework: 401 for a missing or wrong
 * signature (nothing is parsed or applied), 413 past the size limit, 400 for a body that is not a
 * webhook, 202 for an event applied or ignored, 500 when applying failed (PagerDuty retries 5xx).
 * Never throws. `rawBody` must be the body exactly as received.
 */
export async function handlePagerDutyWebhook(rawBody: Buffer | string, headers: Record<string, string | string[] | undefined>, deps: PagerDutyWebhookDeps): Promise<WebhookAnswer> {
  try {
    const raw = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
    if (raw.length > MAX_WEBHOOK_BYTES) return answer(413, 'refused', 'the webhook is larger than Vigil accepts');
    if (!verifyPagerDutySignature(raw, header(headers, 'x-pagerduty-signature'), deps.secrets)) {
      return answer(401, 'refused', 'X-PagerDuty-Signature is missing or matches none of the configured webhook secrets');
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return answer(400, 'invalid', 'the body is not JSON');
    }
    const webhookId = header(headers, 'x-webhook-id')?.slice(0, 200);
    const parsed = parsePagerDutyWebhook(body, webhookId);
    if ('invalid' in parsed) return answer(400, 'invalid', parsed.invalid);
    if ('ignored' in parsed) return answer(202, 'ignored', parsed.ignored);
    try {
      await deps.apply(parsed.event);
    } catch {
      return answer(500, 'failed', 'Vigil could not apply the event; PagerDuty will deliver it again');
    }
    return answer(202, 'applied', `incident.${parsed.event.type} applied`);
  } catch {
    return answer(500, 'failed', 'Vigil could not read the webhook');
  }
}
