import client from 'prom-client';

/** One registry per app instance, so tests can build several apps in one process. */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    incidentsReceived: new client.Counter({ name: 'vigil_incidents_received_total', help: 'Incidents received, by outcome', labelNames: ['outcome'], registers: [registry] }),
    cardsDelivered: new client.Counter({ name: 'vigil_cards_delivered_total', help: 'Incident cards posted or updated (op: post, update, digest_post, digest_update)', labelNames: ['op'], registers: [registry] }),
    cardsFolded: new client.Counter({ name: 'vigil_cards_folded_total', help: 'Incident cards folded into a channel\'s storm digest instead of posted alone', registers: [registry] }),
    cardsPromoted: new client.Counter({ name: 'vigil_cards_promoted_total', help: 'Folded incidents that rose to High (or were assessed High/Critical) and got their own card', registers: [registry] }),
    cardFailures: new client.Counter({ name: 'vigil_card_failures_total', help: 'Failed card deliveries (retried later), by status', labelNames: ['status'], registers: [registry] }),
    outboxTakeovers: new client.Counter({
      name: 'vigil_outbox_takeovers_total',
      help: 'Sends claimed after another process\'s lease ran out mid-send (it may have died after Teams took the activity and before the store heard: a possible duplicate)',
      labelNames: ['kind', 'op'],
      registers: [registry],
    }),
    cardLatency: new client.Histogram({
      name: 'vigil_card_delivery_seconds',
      help: 'From an incident change stored to its card accepted by the Bot Connector',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
