import type { Incident } from '../incidents/incident';
import { untrusted } from '../cards/markdown';
import { parseGraphIncident } from '../incidents/parse-graph-incident';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { upsertIncident, type AlsoInCommit } from '../store/incident-repository';
import { audit } from '../store/audit-repository';
import { MAX_COMMENT, type Analyst, type IncidentWriter } from '../sentinel/incident-writer';
import type { GraphClient } from './graph-client';
import { GRAPH_CLOSE_CHOICES } from './graph-close-choices';
import type { GraphSecurityClient } from './graph-security-client';

/** What Graph's answer to a PATCH says about the incident; the alerts (and so entities) are the stored ones, since the answer carries none. */
const withHeaderOf = (stored: Incident, answer: Incident): Incident => ({
  ...answer,
  entities: stored.entities,
  techniques: stored.techniques,
  tactics: stored.tactics,
  products: stored.products,
  alertCount: stored.alertCount,
  ruleIds: stored.ruleIds,
  firstActivityAt: stored.firstActivityAt,
  lastActivityAt: stored.lastActivityAt,
});

/**
 * Take, comment and close for incidents that live in Defender, through Microsoft Graph: PATCH of
 * only what changes, after a fresh read (see `GraphSecurityClient.updateIncident`), then the
 * store, so the card shows Graph's answer; an audit row each. Throws what the client throws;
 * nothing is stored on failure.
 */
export function createGraphIncidentWriter(o: {
  db: Db;
  client: GraphSecurityClient;
  graph: GraphClient;
  onChange: (incident: Incident) => void;
  alsoInCommit?: AlsoInCommit;
  logger: Logger;
}): IncidentWriter {
  const store = async (stored: Incident, answer: unknown) => {
    const incident = withHeaderOf(stored, parseGraphIncident(answer));
    const outcome = await upsertIncident(o.db, incident, o.alsoInCommit);
    if (outcome.kind === 'created' || outcome.kind === 'updated') o.onChange(incident);
    return incident;
  };
  /** Defender shows the owner as a UPN; the click gives an object id, so Graph is asked (the name when it cannot say). */
  const ownerName = async (by: Analyst) => {
    const user = await o.graph.get<{ userPrincipalName?: unknown }>(`/users/${encodeURIComponent(by.id)}?$select=userPrincipalName`).catch((e: unknown) => {
      o.logger.warn({ err: e }, 'could not read the analyst’s UPN; assigning by name');
      return undefined;
    });
    return typeof user?.userPrincipalName === 'string' ? user.userPrincipalName : (by.name ?? by.id);
  };
  /**
   * The lost-update guard: what the card showed is what Vigil stored; a field Defender has since
   * changed to something else is someone's decision, which a click on the older card must not undo.
   */
  const changedMeanwhile = (stored: Incident, field: 'owner' | 'classification') => (current: Record<string, unknown>) => {
    const now = parseGraphIncident({ ...current, alerts: [] });
    if (field === 'owner') {
      const was = stored.owner?.upn ?? stored.owner?.name;
      const is = now.owner?.upn ?? now.owner?.name;
      return is && is.toLowerCase() !== (was ?? '').toLowerCase() ? `${untrusted(is, 80)} took this incident in Defender after the card was drawn` : undefined;
    }
    return now.classification && now.classification !== stored.classification
      ? `someone classified this incident in Defender (${now.classification}${now.determination ? `, ${untrusted(now.determination, 40)}` : ''}) after the card was drawn`
      : undefined;
  };
  return {
    async assign(incident, by) {
      const assignedTo = await ownerName(by);
      const unless = (current: Record<string, unknown>) =>
        typeof current.assignedTo === 'string' && current.assignedTo.toLowerCase() === assignedTo.toLowerCase() ? undefined : changedMeanwhile(incident, 'owner')(current);
      const updated = await store(incident, await o.client.updateIncident(incident.id, { assignedTo, unless }));
      await audit(o.db, by.id, 'incident.assigned', incident.key, { owner: by.name ?? by.id, via: 'graph' });
      return updated;
    },
    async comment(incident, by, text) {
      await o.client.addComment(incident.id, `${by.name ?? by.id} (via Vigil): ${text.slice(0, MAX_COMMENT)}`);
      await audit(o.db, by.id, 'incident.commented', incident.key, { length: text.length, via: 'graph' });
    },
    async close(incident, by, key, comment) {
      const c = GRAPH_CLOSE_CHOICES[key]!;
      const updated = await store(
        incident,
        await o.client.updateIncident(incident.id, { status: 'resolved', classification: c.classification, determination: c.determination, unless: changedMeanwhile(incident, 'classification') }),
      );
      // The incident is closed by now: a comment Graph refuses is logged, not reported as a failed close.
      await o.client.addComment(incident.id, `Closed by ${by.name ?? by.id} via Vigil as ${c.label}${comment ? `: ${comment.slice(0, MAX_COMMENT)}` : ''}`).catch((e: unknown) => {
        o.logger.warn({ err: e, incident: incident.number }, 'closed in Defender, but its closing comment was refused');
      });
      await audit(o.db, by.id, 'incident.closed', incident.key, { classification: c.classification, determination: c.determination, via: 'graph' });
      return updated;
    },
  };
}
