import crypto from 'node:crypto';
import { startStandIn, type StandIn } from './stand-in';

/**
 * PagerDuty Events API v2 (`POST /v2/enqueue`): validates what the real one requires and answers
 * 202 with a dedup key, or 400 with its error shape.
 */
export async function startPagerDuty(options: { port?: number } = {}): Promise<StandIn> {
  return startStandIn(
    'pagerduty',
    [
      {
        method: 'POST',
        path: '/v2/enqueue',
        handle: ({ body }) => {
          const b = (body ?? {}) as { routing_key?: string; event_action?: string; dedup_key?: string; payload?: { summary?: string; source?: string; severity?: string } };
          const errors: string[] = [];
          if (!b.routing_key || b.routing_key.length !== 32) errors.push("'routing_key' must be 32 characters");
          if (!['trigger', 'acknowledge', 'resolve'].includes(b.event_action ?? '')) errors.push("'event_action' is invalid");
          if (b.event_action === 'trigger' && (!b.payload?.summary || !b.payload.source || !['critical', 'error', 'warning', 'info'].includes(b.payload.severity ?? '')))
            errors.push("'payload' is invalid or missing");
          if (b.event_action !== 'trigger' && !b.dedup_key) errors.push("'dedup_key' is required");
          if (errors.length > 0) return { status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
          return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: b.dedup_key ?? crypto.randomBytes(16).toString('hex') } };
        },
      },
    ],
    options,
  );
}
