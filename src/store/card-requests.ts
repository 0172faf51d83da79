import type { Incident } from '../incidents/incident';
import { routingFactsOf, ruleMatches } from '../routing/route-rule';
import type { Queryable } from './db';
import { loadChannelRouting, type ChannelRouting } from './route-repository';

/** A card version to ask for: the incident as stored, with enrichment's assessment if it made one. */
export interface CardRequest {
  incident: Incident;
  version: number;
  assessedSeverity?: string | null;
}

const wants = (channel: ChannelRouting, request: CardRequest): boolean =>
  channel.rules === undefined || channel.rules.some((rule) => ruleMatches(rule, routingFactsOf(request.incident, request.assessedSeverity)));

/**
 * Asks for each card version in the channels whose routing takes the incident as it now stands
 * (every subscribed channel that never chose takes everything), and in every channel that already
 * has its card, so a card once posted keeps updating. It falls due at once unless the card is
 * waiting out a throttle or the spacing between updates; then it goes at that time, carrying
 * every change made meanwhile.
 */
export async function requestCardsIn(tx: Queryable, requests: CardRequest[]): Promise<void> {
  if (requests.length === 0) return;
  const channels = await loadChannelRouting(tx);
  const pairs = requests.flatMap((r) => channels.filter((c) => wants(c, r)).map((c) => ({ key: r.incident.key, conversation: c.conversationId, version: r.version })));
  if (pairs.length > 0) {
    await tx.query(
      `INSERT INTO incident_cards (incident_key, conversation_id, desired_version)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
       ON CONFLICT (incident_key, conversation_id) DO UPDATE
         SET desired_version = GREATEST(incident_cards.desired_version, excluded.desired_version),
             requested_at = CASE WHEN incident_cards.sent_version < incident_cards.desired_version THEN incident_cards.requested_at ELSE now() END`,
      [pairs.map((p) => p.key), pairs.map((p) => p.conversation), pairs.map((p) => p.version)],
    );
  }
  if (channels.every((c) => c.rules === undefined)) return;
  // A channel whose rules no longer take the incident (it was reassessed, or the rules changed) still has its card.
  await tx.query(
    `UPDATE incident_cards ic
       SET desired_version = w.version,
           requested_at = CASE WHEN ic.sent_version < ic.desired_version THEN ic.requested_at ELSE now() END
     FROM unnest($1::text[], $2::int[]) AS w (key, version), conversations c
     WHERE ic.incident_key = w.key AND ic.desired_version < w.version AND c.id = ic.conversation_id AND c.subscribed`,
    [requests.map((r) => r.incident.key), requests.map((r) => r.version)],
  );
}
