import { channelOfConversation } from '../../ids';
import type { Incident } from '../../incidents/incident';
import type { Queryable } from '../../store/db';
import { getIncidentByNumber, type StoredIncident } from '../../store/incident-repository';
import type { Caller } from '../command';

/**
 * The incident a card button names by `number`. Two workspaces can share a number, so the card
 * the click came from decides where Vigil posted it (its activity in that channel); a card Vigil
 * did not post there (a reply in chat) falls back to the newest incident with the number.
 */
export async function clickedIncident(db: Queryable, number: number, caller: Pick<Caller, 'conversationId' | 'cardActivityId'>): Promise<StoredIncident | undefined> {
  if (caller.cardActivityId) {
    const r = await db.query<{ data: Incident; version: number }>(
      `SELECT i.data, i.version FROM incident_cards c JOIN incidents i ON i.key = c.incident_key
       WHERE c.conversation_id = $1 AND c.activity_id = $2 AND i.number = $3`,
      [channelOfConversation(caller.conversationId), caller.cardActivityId, number],
    );
    const row = r.rows[0];
    if (row) return { incident: row.data, version: row.version };
  }
  return getIncidentByNumber(db, number);
}
