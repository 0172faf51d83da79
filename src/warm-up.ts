import type { Db } from './store/db';
import { WARM_CONNECTIONS } from './store/pg-db';
import { bumpIncidentVersionIn, getCurrentSeverity, getIncident, upsertIncidentsIn } from './store/incident-repository';
import { listEnrichments, saveEnrichments, type StoredEnrichment } from './store/enrichment-repository';
import { claimDueCards, completeCard, msUntilNextDelivery } from './store/card-queue';
import { getConversation, saveConversation } from './store/conversation-repository';
import { listFoldCandidates, settleFoldedCards } from './store/digest-fold';
import { claimDueDigests } from './store/digest-queue';
import { takeSendSlotIn } from './store/send-budget-repository';
import { TEAMS_CONVERSATION_LIMITS, TEAMS_TENANT_LIMITS } from './teams/conversation-pacer';
import { createHttpClient } from './http/http-client';
import { enrichmentPlan, type EnrichmentProvider } from './enrichment/orchestrator';
import type { SourceResult } from './enrichment/types';
import { checkWorkspace } from './ingest/ingest-incident';
import { parseIncidentPayload } from './incidents/parse-incident';
import type { Incident, WorkspaceRef } from './incidents/incident';

export interface WarmUpDeps {
  db: Db;
  /** The configured workspace: the sample incident is one of its own, so the ingest checks pass. */
  workspace: WorkspaceRef;
  portalUrl: string;
  /** The incident card as the outbox renders it (enrichment summary, action view, template), from these answers. */
  renderCard: (incident: Incident, answers: Array<StoredEnrichment<SourceResult>>) => Promise<unknown>;
  /** The providers the incident's look-ups go to: the sample card carries an answer of each. */
  providers: ReadonlyArray<EnrichmentProvider>;
  /** Vigil's own base URL: one request through its HTTP server and through the HTTP client. */
  selfUrl: string;
  /** PostgreSQL connections to open and warm before the first incident needs them. */
  connections?: number;
}

/** A Sentinel automation-rule envelope for an incident of `w` with an address, an account and a host. */
const samplePayload = (w: WorkspaceRef, n: number) => {
  const workspace = `/subscriptions/${w.subscriptionId}/resourceGroups/${w.resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/${w.workspaceName}`;
  const time = new Date().toISOString();
  return {
    objectSchemaType: 'Incident',
    objectEventType: 'Create',
    workspaceInfo: { SubscriptionId: w.subscriptionId, ResourceGroupName: w.resourceGroup, WorkspaceName: w.workspaceName },
    object: {
      id: `${workspace}/providers/Microsoft.SecurityInsights/incidents/vigil-warm-up-${n}`,
      name: `vigil-warm-up-${n}`,
      etag: `"${time}"`,
      type: 'Microsoft.SecurityInsights/Incidents',
      properties: {
        title: 'Vigil warm-up (never stored)',
        description: 'Rendered and written in a rolled-back transaction before /readyz says ready.',
        severity: 'High',
        status: 'New',
        owner: {},
        labels: [{ labelName: 'warm-up', labelType: 'User' }],
        createdTimeUtc: time,
        lastModifiedTimeUtc: time,
        incidentNumber: 1,
        additionalData: { alertsCount: 1, tactics: ['InitialAccess'], techniques: ['T1078'], alertProductNames: ['Microsoft Sentinel'] },
        relatedEntities: [
          { kind: 'Ip', properties: { address: '192.0.2.1' } },
          { kind: 'Account', properties: { accountName: 'warm.up', upnSuffix: 'example.org', aadUserId: '00000000-0000-4000-8000-000000000000' } },
          { kind: 'Host', properties: { hostName: 'warm-up-host' } },
        ],
      },
    },
  };
};

/**
 * An answer of every provider for every entity of the sample, a bad one: the card's first render
 * with a verdict, facts and scores runs the code the first enriched card would otherwise run cold.
 */
const sampleAnswers = (incident: Incident, providers: ReadonlyArray<EnrichmentProvider>): Array<StoredEnrichment<SourceResult>> =>
  enrichmentPlan(incident, [...providers]).map(({ entity, provider }) => ({
    entityKind: entity.kind,
    entityValue: entity.value,
    source: provider.name,
    result: { status: 'ok', source: provider.name, score: 90, facts: { malicious: 60, country: 'NL', displayName: 'Warm Up', privileged: true, riskLevel: 'high' }, at: new Date().toISOString() },
  }));

/** Requests at once through the HTTP client: each opens a connection of its own, as the first incident's look-ups do. */
const SELF_REQUESTS = 8;

const WARM_TABLES = ['conversations', 'incident_cards', 'digests', 'enrichments', 'actions', 'teams_users', 'teams_send_budgets', 'teams_sends', 'jobs'];

/** Thrown to roll the warm-up transaction back. */
const ROLL_BACK = Symbol('roll back');

/**
 * Does once, before `/readyz` says ready, what the first incident would otherwise pay for: the
 * payload schema's first parse (zod compiles on first use), PostgreSQL's pool connections, the
 * statements of an incident's whole way — ingest, answers, reassessment, the outbox's folds and
 * claims, the send budget, the delivery — in a transaction that is rolled back (nothing is stored,
 * counted or sent; a claim is undone with the rest), the card's first render with an answer of every provider,
 * and requests through the HTTP server and client on several connections at once. So the
 * first card after a start is as quick as the hundredth. Resolves with the milliseconds it took.
 */
export async function warmUp(d: WarmUpDeps): Promise<number> {
  const started = performance.now();
  // One transaction per connection, all at once so each takes its own (a sample of its own, so
  // none waits for another's insert): a PostgreSQL backend reads each table's catalog entries on
  // its first statement there.
  const connections = d.db.driver === 'pg' ? (d.connections ?? WARM_CONNECTIONS) : 1;
  const samples = Array.from({ length: connections }, (_, n) => {
    const { incident, workspaceInfo } = parseIncidentPayload(samplePayload(d.workspace, n), { portalUrl: d.portalUrl });
    checkWorkspace(incident, d.workspace, workspaceInfo);
    return incident;
  });
  await Promise.all(
    samples.map((incident, n) =>
      d.db
        .transaction(async (tx) => {
          // A subscribed channel of its own, so the sample's card is asked for as a real one is.
          const conversationId = `vigil-warm-up-${n}`;
          await saveConversation(tx, { id: conversationId, kind: 'channel', serviceUrl: 'https://smba.invalid/vigil-warm-up/', reference: {}, subscribed: true });
          await upsertIncidentsIn(tx, [incident]);
          await getIncident(tx, incident.key);
          // The first incident's own statements after the ingest: its answers, the outbox's claim.
          // The statement the enricher stores its answers with (answer-writer.ts), not the one-row one.
          await saveEnrichments(tx, incident.key, sampleAnswers(incident, d.providers));
          await listEnrichments(tx, incident.key);
          // The answers' reassessment: the card's redraw asked for, the severity paging goes by.
          await bumpIncidentVersionIn(tx, incident.key, { assessedSeverity: 'High' });
          await getCurrentSeverity(tx, incident.key);
          // The outbox's round: folds, claims, the conversation, the send budget, the delivery.
          await settleFoldedCards(tx);
          await listFoldCandidates(tx, { quietMs: 60_000 });
          await claimDueCards(tx, 0, 1);
          await claimDueDigests(tx, 1, 1);
          await msUntilNextDelivery(tx);
          await getConversation(tx, conversationId);
          await takeSendSlotIn(tx, [
            { key: `conversation:${conversationId}`, limits: TEAMS_CONVERSATION_LIMITS },
            { key: `tenant:${conversationId}`, limits: TEAMS_TENANT_LIMITS },
          ]);
          await completeCard(tx, { incidentKey: incident.key, conversationId, version: 1, attempts: 1, requestedAt: new Date(), takenOver: false }, undefined);
          // The tables the first card's way out reads and writes (outbox, pacer, card, jobs).
          for (const table of WARM_TABLES) await tx.query(`SELECT 1 FROM ${table} LIMIT 0`);
          throw ROLL_BACK;
        })
        .catch((e: unknown) => {
          if (e !== ROLL_BACK) throw e;
        }),
    ),
  );
  await Promise.all(samples.map((incident) => d.renderCard(incident, sampleAnswers(incident, d.providers))));
  // Twice: new connections the first time, kept-alive ones the second, as upstreams see them.
  const self = createHttpClient({ upstream: 'Vigil', baseUrl: d.selfUrl, timeoutMs: 5_000 });
  for (let round = 0; round < 2; round++) await Promise.all(Array.from({ length: SELF_REQUESTS }, () => self.request({ path: '/healthz' })));
  // Start-up leaves megabytes of garbage (modules, templates, the warm-up itself); collected now
  // (`npm start` exposes gc) rather than in the middle of the first incident, where a full
  // collection took 30 ms of its card.
  (globalThis as { gc?: () => void }).gc?.();
  return performance.now() - started;
}
