import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { audit } from '../store/audit-repository';
import { getPage } from '../store/page-repository';
import type { Pager } from './pager';
import type { PagerDutyIncidentEvent } from './pagerduty-webhook';

const PAGERDUTY_ACTOR = 'pagerduty:';

/** Who acted, as a page records it: the PagerDuty user's name behind a prefix no Entra id has. */
export const pagerDutyActor = (name: string): string => `${PAGERDUTY_ACTOR}${name.slice(0, 200)}`;

/** The PagerDuty user's name when the page was acknowledged in PagerDuty, else undefined. */
export const pagerDutyNameOf = (actor: string | undefined): string | undefined => (actor?.startsWith(PAGERDUTY_ACTOR) ? actor.slice(PAGERDUTY_ACTOR.length) : undefined);

/**
 * What a verified PagerDuty webhook does to the page its `dedup_key` names (the incident's key,
 * as Vigil sent it): an acknowledgement stops the escalation and every page card names who took
 * it; a resolve ends the page. Idempotent: a page already acknowledged or resolved is left as it
 * is, so PagerDuty's repeated deliveries change nothing; an event for no page of Vigil's is ignored.
 */
export function createPagerDutyEvents(o: { db: Db; pager: Pick<Pager, 'acknowledge' | 'resolve' | 'refresh'>; logger: Logger }) {
  return async (event: PagerDutyIncidentEvent): Promise<void> => {
    const page = event.dedupKey ? await getPage(o.db, event.dedupKey.toLowerCase()) : undefined;
    if (!page) {
      o.logger.info({ event: event.type, pagerDutyIncident: event.incidentId }, 'PagerDuty event for no page of Vigil’s; ignored');
      return;
    }
    if (event.type === 'acknowledged') {
      const r = await o.pager.acknowledge(page.incidentKey, pagerDutyActor(event.by?.name ?? 'PagerDuty'));
      o.logger.info({ page: page.id, by: event.by?.name, acknowledged: r.acknowledged }, 'page acknowledged in PagerDuty');
    } else if (event.type === 'resolved') {
      await o.pager.resolve(page.incidentKey, { because: 'pagerduty', by: pagerDutyActor(event.by?.name ?? 'PagerDuty') });
      o.logger.info({ page: page.id, by: event.by?.name }, 'page resolved in PagerDuty');
    } else {
      // Who holds it now is PagerDuty's to say; Vigil's trail records it (its own escalation carries on)
      // and the page's cards say it.
      await audit(o.db, pagerDutyActor(event.by?.name ?? 'PagerDuty'), 'page.reassigned', page.incidentKey, { via: 'pagerduty', to: event.assignees.map((a) => a.name) });
      await o.pager.refresh(page.incidentKey);
      o.logger.info({ page: page.id, assignees: event.assignees.map((a) => a.name) }, 'page reassigned in PagerDuty');
    }
  };
}
