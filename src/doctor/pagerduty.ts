import crypto from 'node:crypto';
import { fail, NoAnswer, off, ok, probe, reason, type Check } from './check';

const NAME = 'PagerDuty';

/**
 * The Events API v2 has no read call, so the routing key is tried with an event that changes
 * nothing: a `resolve` for a dedup key no incident has. Nobody is paged; PagerDuty accepts the
 * event (202) when the key is well formed, and says so when it is not.
 */
export const checkPagerDuty: Check = async ({ config, timeoutMs }) => {
  const pd = config.paging?.pagerDuty;
  if (!pd) return [off(NAME, 'off (no PAGERDUTY_ROUTING_KEY)')];
  try {
    const p = await probe(`${pd.endpoint}/v2/enqueue`, {
      timeoutMs,
      method: 'POST',
      body: { routing_key: pd.routingKey, event_action: 'resolve', dedup_key: `vigil-doctor-${crypto.randomUUID()}` },
    });
    if (p.status === 202) return [ok(NAME, 'Events API v2 accepted the routing key (a no-op resolve; nobody was paged)')];
    const errors = (p.json as { errors?: unknown[] } | undefined)?.errors;
    const why = Array.isArray(errors) ? errors.map(String).join('; ') : `HTTP ${p.status}`;
    return [fail(NAME, `the Events API refused the event (${why}); PAGERDUTY_ROUTING_KEY is the 32-character integration key of an Events API v2 integration`)];
  } catch (e) {
    return [fail(NAME, `${e instanceof NoAnswer ? e.message : reason(e)} (PAGERDUTY_ENDPOINT ${pd.endpoint})`)];
  }
};
