import type { SentinelClient } from '../sentinel/sentinel-client';
import type { GraphSecurityClient } from './graph-security-client';

/** A Defender incident's Graph id ("3962396"); a Sentinel incident is named by its ARM id (`/subscriptions/…`). */
const GRAPH_INCIDENT_ID = /^[1-9]\d{0,14}$/;

const commentsOf = (incident: unknown): string[] => {
  const list = (incident as { comments?: unknown } | undefined)?.comments;
  return Array.isArray(list) ? list.flatMap((c) => (typeof (c as { comment?: unknown })?.comment === 'string' ? [(c as { comment: string }).comment.trim()] : [])) : [];
};

/**
 * Sentinel's client, with the incident writes that actions' effects make — a comment, labels —
 * sent through Graph for incidents that live in Defender (stored under their Graph id). Graph's
 * comments have no id of Vigil's choosing, so a retried comment is first looked for on the
 * incident and not posted twice; labels become custom tags, merged as a set.
 */
export function withGraphIncidents(sentinel: SentinelClient, graph?: GraphSecurityClient): SentinelClient {
  if (!graph) return sentinel;
  return {
    ...sentinel,
    async addComment(incidentId, commentId, message) {
      if (!GRAPH_INCIDENT_ID.test(incidentId)) return sentinel.addComment(incidentId, commentId, message);
      if (commentsOf(await graph.getIncident(incidentId)).includes(message.trim())) return;
      await graph.addComment(incidentId, message);
    },
    async updateIncident(incidentId, change) {
      if (!GRAPH_INCIDENT_ID.test(incidentId)) return sentinel.updateIncident(incidentId, change);
      return graph.updateIncident(incidentId, { addTags: change.addLabels });
    },
  };
}
