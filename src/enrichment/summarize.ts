import type { Entity, Incident } from '../incidents/incident';
import type { StoredEnrichment } from '../store/enrichment-repository';
import { enrichmentPlan, type EnrichmentProvider } from './orchestrator';
import { assessSeverity, recommend, riskScore } from './scoring';
import type { SourceResult } from './types';

export interface EntityEnrichment {
  entity: Entity;
  results: SourceResult[];
  /** This entity's risk: the mean of its sources' scores. */
  score?: number;
}

export interface IncidentEnrichment {
  entities: EntityEnrichment[];
  /** The riskiest entity's score: one malicious address makes the incident risky, whatever else it holds. */
  score?: number;
  recommendation?: ReturnType<typeof recommend>;
  assessedSeverity?: ReturnType<typeof assessSeverity>;
  privileged: boolean;
  /** Lookups still running (or never finished): the card says it is still enriching. */
  pending: number;
  planned: number;
}

/** Folds stored provider answers into what the card shows, verdict first. Pure. */
export function summarizeEnrichment(incident: Incident, stored: Array<StoredEnrichment<SourceResult>>, providers: EnrichmentProvider[]): IncidentEnrichment {
  const planned = enrichmentPlan(incident, providers).length;
  const entities = incident.entities
    .map((entity) => {
      const results = stored.filter((s) => s.entityKind === entity.kind && s.entityValue === entity.value).map((s) => s.result);
      return { entity, results, score: riskScore(results) };
    })
    .filter((e) => e.results.length > 0);
  const scores = entities.map((e) => e.score).filter((s): s is number => s !== undefined);
  const score = scores.length > 0 ? Math.max(...scores) : undefined;
  const privileged = entities.some((e) => e.entity.kind === 'account' && e.results.some((r) => r.status === 'ok' && r.facts.privileged === true));
  return {
    entities,
    score,
    recommendation: score === undefined ? undefined : recommend(score),
    assessedSeverity: score === undefined ? undefined : assessSeverity(score, privileged),
    privileged,
    pending: Math.max(0, planned - stored.length),
    planned,
  };
}
