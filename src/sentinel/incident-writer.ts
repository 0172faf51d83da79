import crypto from 'node:crypto';
import type { Incident } from '../incidents/incident';
import { parseIncident } from '../incidents/parse-incident';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { upsertIncident, type AlsoInCommit } from '../store/incident-repository';
import { audit } from '../store/audit-repository';
import type { IncidentClassification, IncidentClassificationReason, SentinelClient } from './sentinel-client';

export interface Analyst {
  id: string;
  name?: string;
}

export const CLOSE_CHOICES: Record<string, { classification: IncidentClassification; reason?: IncidentClassificationReason; label: string }> = {
  'TruePositive/SuspiciousActivity': { classification: 'TruePositive', reason: 'SuspiciousActivity', label: 'true positive' },
  'BenignPositive/SuspiciousButExpected': { classification: 'BenignPositive', reason: 'SuspiciousButExpected', label: 'benign positive' },
  'FalsePositive/IncorrectAlertLogic': { classification: 'FalsePositive', reason: 'IncorrectAlertLogic', label: 'false positive (incorrect alert logic)' },
  'FalsePositive/InaccurateData': { classification: 'FalsePositive', reason: 'InaccurateData', label: 'false positive (inaccurate data)' },
  Undetermined: { classification: 'Undetermined', label: 'undetermined' },
};

export const MAX_COMMENT = 2000;

/**
 * What an analyst does to the incident itself from Teams — take it, comment on it, close it — in
 * Sentinel first, then in Vigil's store (so the card shows Sentinel's answer, not our guess), with
 * an audit row each. Throws what the Sentinel client throws; nothing is stored on failure.
 */
export function createIncidentWriter(o: { db: Db; sentinel: SentinelClient; portalUrl: string; onChange: (incident: Incident) => void; alsoInCommit?: AlsoInCommit; logger: Logger }) {
  const store = async (raw: unknown) => {
    const incident = parseIncident(raw, { portalUrl: o.portalUrl });
    const outcome = await upsertIncident(o.db, incident, o.alsoInCommit);
    if (outcome.kind === 'created' || outcome.kind === 'updated') o.onChange(incident);
    return incident;
  };
  return {
    async assign(incident: Incident, by: Analyst): Promise<Incident> {
      const updated = await store(await o.sentinel.updateIncident(incident.id, { owner: { objectId: by.id, assignedTo: by.name }, status: incident.status === 'New' ? 'Active' : undefined }));
      await audit(o.db, by.id, 'incident.assigned', incident.key, { owner: by.name ?? by.id });
      return updated;
    },
    async comment(incident: Incident, by: Analyst, text: string): Promise<void> {
      const message = `${by.name ?? by.id} (via Vigil): ${text.slice(0, MAX_COMMENT)}`;
      // A fresh id per comment: two analysts saying the same thing are two comments.
      await o.sentinel.addComment(incident.id, crypto.randomUUID(), message);
      await audit(o.db, by.id, 'incident.commented', incident.key, { length: text.length });
    },
    async close(incident: Incident, by: Analyst, choice: string, comment: string): Promise<Incident> {
      const c = CLOSE_CHOICES[choice]!;
      const text = `Closed by ${by.name ?? by.id} via Vigil${comment ? `: ${comment.slice(0, MAX_COMMENT)}` : ''}`;
      const updated = await store(await o.sentinel.updateIncident(incident.id, { status: 'Closed', classification: c.classification, classificationReason: c.reason, classificationComment: text }));
      await audit(o.db, by.id, 'incident.closed', incident.key, { classification: c.classification, reason: c.reason });
      return updated;
    },
  };
}

export type IncidentWriter = ReturnType<typeof createIncidentWriter>;
