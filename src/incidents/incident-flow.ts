import { createEnricher, type Enricher, type EnrichmentProvider } from '../enrichment/orchestrator';
import { summarizeEnrichment, type IncidentEnrichment } from '../enrichment/summarize';
import type { SourceResult } from '../enrichment/types';
import type { Logger } from '../logger';
import type { Pager } from '../paging/pager';
import type { IncidentCases } from '../cases/incident-cases';
import type { Db, Queryable } from '../store/db';
import { listEnrichments } from '../store/enrichment-repository';
import { bumpIncidentVersionIn, getCurrentSeverity, getIncident, type UpsertOutcome } from '../store/incident-repository';
import type { Incident } from './incident';

export interface IncidentFlowOptions {
  db: Db;
  providers: EnrichmentProvider[];
  logger: Logger;
  /** Wakes the outbox: a card version was asked for in the store. */
  kickOutbox: () => void;
  /** Without an on-call schedule nobody is paged. */
  pager?: Pick<Pager, 'consider' | 'refresh'>;
  /** Without a case system no case is opened. */
  cases?: Pick<IncidentCases, 'askIn' | 'kick'>;
}

/**
 * What happens to an incident once it is stored: its card is queued (in the store, by the
 * upsert), its entities are enriched, each batch of answers reassesses it and redraws the card,
 * and paging is decided on the severity as it then stands.
 */
export interface IncidentFlow {
  /** The webhook, the poller or a write-back stored a change. Returns at once; failures are logged. */
  stored(incident: Incident, outcome?: UpsertOutcome): void;
  /**
   * A batch of enrichment answers is stored: one read of the incident and of its answers, one
   * summary; the assessed severity saved before the card's new version is asked for (the outbox
   * reads it: an incident assessed High or Critical never waits in a storm digest), then paging on it.
   */
  enriched(incidentKey: string): Promise<void>;
  /** The stored answers folded into what the card shows. */
  summaryOf(incident: Incident): Promise<IncidentEnrichment>;
  /** The enrichment under way: `resume` after a restart, `idle` before closing. */
  enricher: Enricher;
}

/** The severity paging goes by, for the pager's cards: what the last reassessment stored. */
export const currentSeverity = (db: Queryable) => async (incident: Incident) => (await getCurrentSeverity(db, incident.key)) ?? incident.severity;

export function createIncidentFlow(o: IncidentFlowOptions): IncidentFlow {
  const severityOf = currentSeverity(o.db);
  const summaryOf = async (incident: Incident) => summarizeEnrichment(incident, await listEnrichments<SourceResult>(o.db, incident.key), o.providers);

  const enriched = async (incidentKey: string) => {
    const stored = await getIncident(o.db, incidentKey);
    if (!stored) return;
    const { assessedSeverity } = await summaryOf(stored.incident);
    const cases = o.cases;
    // One commit: the assessment, the card's redraw and the case policy's ask on it (Critical exists only there).
    await o.db.transaction(async (tx) => {
      await bumpIncidentVersionIn(tx, incidentKey, { assessedSeverity });
      await cases?.askIn(tx, stored.incident, { assessed: assessedSeverity });
    });
    o.kickOutbox();
    cases?.kick(incidentKey);
    if (!o.pager) return;
    // Pages by Vigil's assessment once enrichment has one (Critical exists only there).
    await o.pager.consider(stored.incident, assessedSeverity ?? stored.incident.severity);
    await o.pager.refresh(incidentKey);
  };

  const enricher = createEnricher({ db: o.db, providers: o.providers, logger: o.logger, onResults: enriched });

  return {
    stored(incident, outcome) {
      // The look-ups first: the outbox's statements would hold the requests back until they ran
      // (PGlite), and the complete card waits for the slowest answer, the first card for nothing.
      // A new incident has no answers stored yet: its look-ups start without reading the store.
      enricher.enrichIncident(incident, { fresh: outcome?.kind === 'created' });
      o.kickOutbox();
      // The case policy was asked in the incident's commit (`alsoInCommit`): its jobs run now.
      o.cases?.kick(incident.key);
      if (o.pager) {
        const pager = o.pager;
        void severityOf(incident)
          .then((severity) => pager.consider(incident, severity))
          .catch((e: unknown) => o.logger.error({ err: e, incident: incident.number }, 'paging decision failed'));
      }
    },
    enriched,
    summaryOf,
    enricher,
  };
}
