import client from 'prom-client';

/** One registry per app instance, so tests can build several apps in one process. */
export function createMetrics() {
  const registry = new client.Registry();
  /** Where the response-time histograms read their figures at each scrape (the store, once wired). */
  const responseSource: { read?: () => Promise<Record<ResponseStep, number[]>> } = {};
  const jobSource: { read?: () => Promise<Array<{ kind: string; state: string; count: number }>> } = {};
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    incidentsReceived: new client.Counter({ name: 'vigil_incidents_received_total', help: 'Incidents received, by outcome', labelNames: ['outcome'], registers: [registry] }),
    cardsDelivered: new client.Counter({
      name: 'vigil_cards_delivered_total',
      help: 'Incident cards posted or updated (op: post, update, digest_post, digest_update)',
      labelNames: ['op'],
      registers: [registry],
    }),
    cardsFolded: new client.Counter({ name: 'vigil_cards_folded_total', help: "Incident cards folded into a channel's storm digest instead of posted alone", registers: [registry] }),
    cardsPromoted: new client.Counter({
      name: 'vigil_cards_promoted_total',
      help: 'Folded incidents that rose to High (or were assessed High/Critical) and got their own card',
      registers: [registry],
    }),
    cardFailures: new client.Counter({ name: 'vigil_card_failures_total', help: 'Failed card deliveries (retried later), by status', labelNames: ['status'], registers: [registry] }),
    outboxTakeovers: new client.Counter({
      name: 'vigil_outbox_takeovers_total',
      help: "Sends claimed after another process's lease ran out mid-send (it may have died after Teams took the activity and before the store heard: a possible duplicate)",
      labelNames: ['kind', 'op'],
      registers: [registry],
    }),
    cardLatency: new client.Histogram({
      name: 'vigil_card_delivery_seconds',
      help: 'From an incident change stored to its card accepted by the Bot Connector',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers: [registry],
    }),
    /**
     * The SOC's own numbers: per incident raised in the last 7 days, seconds from the incident to
     * its page acknowledged, to its first action request, first approval and containment done.
     * Rebuilt from the store at each scrape, so every replica reports the same distribution.
     */
    responseTimes: new client.Histogram({
      name: 'vigil_response_seconds',
      help: 'Incidents raised in the last 7 days: seconds from the incident to each response step (step: acknowledge, first_request, approval, containment)',
      labelNames: ['step'],
      buckets: [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400],
      registers: [registry],
      async collect() {
        if (!responseSource.read) return;
        // A store that cannot answer leaves the last figures standing rather than failing the scrape.
        const steps = await responseSource.read().catch(() => undefined);
        if (!steps) return;
        this.reset();
        for (const [step, values] of Object.entries(steps)) for (const v of values) this.observe({ step }, v / 1000);
      },
    }),
    jobsRun: new client.Counter({
      name: 'vigil_jobs_run_total',
      help: 'Durable jobs (Sentinel comments and labels, card redraws, Teams sends) run by this process, by kind and outcome (done, retry, paced, dead)',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    /** Read from the store at each scrape: every replica shows the whole queue, dead letters included. */
    jobs: new client.Gauge({
      name: 'vigil_jobs',
      help: 'Durable jobs in the store, by kind and state (queued, done, dead: given up after too many attempts, with the reason kept)',
      labelNames: ['kind', 'state'],
      registers: [registry],
      async collect() {
        if (!jobSource.read) return;
        const counts = await jobSource.read().catch(() => undefined);
        if (!counts) return;
        this.reset();
        for (const c of counts) this.set({ kind: c.kind, state: c.state }, c.count);
      },
    }),
    readJobCountsFrom(read: () => Promise<Array<{ kind: string; state: string; count: number }>>) {
      jobSource.read = read;
    },
    /** Wires the response-time histograms to the store: `read` gives milliseconds per step. */
    readResponseTimesFrom(read: () => Promise<Record<ResponseStep, number[]>>) {
      responseSource.read = read;
    },
  };
}

export type ResponseStep = 'acknowledge' | 'first_request' | 'approval' | 'containment';

export type Metrics = ReturnType<typeof createMetrics>;
