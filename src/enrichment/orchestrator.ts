import type { Entity, Incident } from '../incidents/incident';
import type { Logger } from '../logger';
import type { Db } from '../store/db';
import { listEnrichments, listRecentOpenIncidentKeys } from '../store/enrichment-repository';
import { createAnswerWriter } from './answer-writer';
import { getIncident } from '../store/incident-repository';
import type { Indicator, SourceResult } from './types';
import { isUpn } from '../ids';

/** What the orchestrator needs of a provider: providers never throw, they answer `unavailable`. */
export interface EnrichmentProvider {
  name: string;
  supports(indicator: Indicator): boolean;
  /** `incident`: whose entity it is, for sources that answer per workspace (KQL); absent for chat's `enrich`. */
  lookup(indicator: Indicator, context?: LookupContext): Promise<SourceResult>;
}

export interface LookupContext {
  incident?: Incident;
}

/** The indicator an entity stands for, or undefined for kinds no provider looks up. */
export function indicatorFor(e: Entity): Indicator | undefined {
  switch (e.kind) {
    case 'ip':
      return { kind: 'ip', value: e.value };
    case 'account': {
      const upn = isUpn(e.value) ? e.value : e.details.aadUserId;
      return upn ? { kind: 'account', value: upn } : undefined;
    }
    case 'host':
      return { kind: 'host', value: e.value };
    case 'filehash':
      return { kind: 'hash', value: e.value };
    case 'url':
      return { kind: 'url', value: e.value };
    case 'domain':
      return { kind: 'domain', value: e.value };
    default:
      return undefined;
  }
}

/** Every (entity, provider) pair an incident calls for. */
export function enrichmentPlan(incident: Incident, providers: EnrichmentProvider[]) {
  return incident.entities.flatMap((entity) => {
    const indicator = indicatorFor(entity);
    return indicator ? providers.filter((p) => p.supports(indicator)).map((provider) => ({ entity, indicator, provider })) : [];
  });
}

const pairKey = (kind: string, value: string, source: string) => `${kind}\u0000${value}\u0000${source}`;

export interface Enricher {
  /** Starts enriching in the background; safe to call again (pairs already stored are skipped). */
  /** `fresh`: just created, so nothing of it is stored and the look-ups start without a store read. */
  enrichIncident(incident: Incident, o?: { fresh?: boolean }): void;
  /** Finishes what a restart interrupted, for open incidents changed in the last day. */
  resume(): Promise<void>;
  idle(): Promise<void>;
}

/**
 * Runs every provider for every entity of an incident at once, each under its own timeout, and
 * stores each answer as it comes (those arriving together in one statement). The first refresh waits for the last answer, or at most
 * `firstUpdateWaitMs` (the outbox's spacing between updates) after the first one, whichever comes
 * first: sources that all answer within a few hundred milliseconds give one complete update, and a
 * slow one holds the others back no longer than the spacing would have. After that, refreshes are
 * asked for shortly after answers arrive (`flushDelayMs` folds answers that land together) and at
 * once when the last one is in; the outbox spaces and coalesces the updates themselves.
 */
export function createEnricher(o: {
  db: Db;
  providers: EnrichmentProvider[];
  onResults: (incidentKey: string) => Promise<void>;
  logger: Logger;
  flushDelayMs?: number;
  firstUpdateWaitMs?: number;
}): Enricher {
  const flushDelayMs = o.flushDelayMs ?? 25;
  const firstUpdateWaitMs = o.firstUpdateWaitMs ?? 1_000;
  const running = new Set<Promise<void>>();

  const lookup = async (provider: EnrichmentProvider, indicator: Indicator, incident: Incident): Promise<SourceResult> => {
    try {
      return await provider.lookup(indicator, { incident });
    } catch (e) {
      // A provider is meant to answer `unavailable` itself; this is the backstop.
      o.logger.error({ err: e, provider: provider.name }, 'enrichment provider threw');
      return { status: 'unavailable', source: provider.name, reason: 'internal error', at: new Date().toISOString() } as SourceResult;
    }
  };

  const enrich = async (incident: Incident, fresh = false) => {
    const plan = enrichmentPlan(incident, o.providers);
    if (plan.length === 0) return;
    const stored = new Set(fresh ? [] : (await listEnrichments(o.db, incident.key)).map((e) => pairKey(e.entityKind, e.entityValue, e.source)));
    const jobs = plan.filter((j) => !stored.has(pairKey(j.entity.kind, j.entity.value, j.provider.name)));
    if (jobs.length === 0) return;
    let remaining = jobs.length;
    let timer: NodeJS.Timeout | undefined;
    let dirty = false;
    let flushed = false;
    const answers = createAnswerWriter(o.db, incident.key);
    const flush = async () => {
      clearTimeout(timer);
      timer = undefined;
      if (!dirty) return;
      dirty = false;
      flushed = true;
      try {
        await o.onResults(incident.key);
      } catch (e) {
        o.logger.error({ err: e, incident: incident.number }, 'could not refresh the card after enrichment');
      }
    };
    await Promise.all(
      jobs.map(async ({ entity, indicator, provider }) => {
        const result = await lookup(provider, indicator, incident);
        await answers.save({ entityKind: entity.kind, entityValue: entity.value, source: provider.name, result });
        remaining -= 1;
        dirty = true;
        if (remaining === 0) await flush();
        else timer ??= setTimeout(() => void flush(), flushed ? flushDelayMs : firstUpdateWaitMs);
      }),
    );
  };

  const track = (p: Promise<void>) => {
    const tracked = p.finally(() => running.delete(tracked));
    running.add(tracked);
  };

  return {
    enrichIncident(incident, options) {
      // After this turn of the loop, counted as running from now (`idle` waits for it): the
      // webhook's 202, and a grouped commit's other 202s, go out before seven requests are started
      // — which took 5 ms of the first incident's 202.
      const started = new Promise<void>((resolve) => setImmediate(resolve));
      track(started.then(() => enrich(incident, options?.fresh)).catch((e: unknown) => o.logger.error({ err: e, incident: incident.number }, 'enrichment failed')));
    },
    async resume() {
      for (const key of await listRecentOpenIncidentKeys(o.db, 24)) {
        const stored = await getIncident(o.db, key);
        if (stored) this.enrichIncident(stored.incident);
      }
    },
    async idle() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}
