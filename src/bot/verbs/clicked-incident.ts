import { channelOfConversation } from '../../ids';
import type { Incident } from '../../incidents/incident';
import type { Queryable } from '../../store/db';
import { listIncidentsByNumber, type StoredIncident } from '../../store/incident-repository';
import { incidentInWorkspace } from '../../workspaces/workspaces';
import type { Caller } from '../command';

/**
 * The incident a card button names by `number` (and `workspace`, its short name, on buttons of
 * incidents that have one). Two workspaces can share a number, so the card the click came from
 * decides where Vigil posted it (its activity in that channel); a card Vigil did not post there (a
 * reply in chat, a digest line) goes by the button's workspace, then by the newest with the number.
 */
export async function clickedIncident(db: Queryable, number: number, caller: Pick<Caller, 'conversationId' | 'cardActivityId'>, workspace?: string): Promise<StoredIncident | undefined> {
  if (caller.cardActivityId) {
    const r = await db.query<{ data: Incident; version: number }>(
      `SELECT i.data, i.version FROM incident_cards c JOIN incidents i ON i.key = c.incident_key
       WHERE c.conversation_id = $1 AND c.activity_id = $2 AND i.number = $3`,
      [channelOfConversation(caller.conversationId), caller.cardActivityId, number],
    );
    const row = r.rows[0];
    if (row) return { incident: row.data, version: row.version };
  }
  const found = await listIncidentsByNumber(db, number);
  return (workspace ? found.find((s) => incidentInWorkspace(s.incident, workspace)) : undefined) ?? found[0];
}
