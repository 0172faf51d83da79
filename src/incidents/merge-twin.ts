import { writeBackOf, type Incident } from './incident';

const time = (iso?: string) => (iso ? Date.parse(iso) : undefined);

/**
 * One incident out of its two copies — Sentinel's (webhook, SecurityIncident poller) and Defender's
 * (the Graph poller) of the same Defender XDR incident (`xdrId`). The stored copy keeps its identity
 * (key, id, number, write-back way and its own link), because its card, actions, case and audit hang
 * on its key; what the incident says now (title, severity, status, owner, entities…) comes from
 * whichever copy changed last; and each side adds what only it knows — the workspace and the
 * Sentinel link from Sentinel's, the Defender link from Defender's. Pure; the store compares the
 * result with what it holds, so a copy that brings nothing new changes nothing.
 */
export function mergeTwin(stored: Incident, incoming: Incident): Incident {
  const s = time(stored.lastModifiedAt);
  const i = time(incoming.lastModifiedAt);
  const newer = i !== undefined && (s === undefined || i > s);
  const content = newer ? incoming : stored;
  const copies = [incoming, stored];
  const sentinel = copies.find((c) => writeBackOf(c) === 'sentinel');
  const graph = copies.find((c) => writeBackOf(c) === 'graph');
  const merged: Incident = {
    ...content,
    id: stored.id,
    key: stored.key,
    writeBack: stored.writeBack,
    number: stored.number,
    url: stored.url,
    xdrId: stored.xdrId ?? incoming.xdrId,
    workspace: sentinel?.workspace ?? stored.workspace,
    lastModifiedAt: newer ? incoming.lastModifiedAt : stored.lastModifiedAt,
    // Sentinel's etag guards a write through SecurityInsights: only a Sentinel copy's counts.
    etag: writeBackOf(stored) === 'sentinel' ? (writeBackOf(incoming) === 'sentinel' ? incoming.etag : stored.etag) : undefined,
    defenderUrl: writeBackOf(stored) === 'sentinel' ? ((graph && graph !== stored ? graph.url : undefined) ?? incoming.defenderUrl ?? stored.defenderUrl) : undefined,
    sentinelUrl: writeBackOf(stored) === 'graph' ? (sentinel ? sentinel.url : stored.sentinelUrl) : undefined,
  };
  return canonicalIncident(merged);
}

/** Keys sorted at every level, `undefined` left out: one content, one JSON text (the store hashes that text). */
const canonical = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(canonical);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
  );
};

/**
 * The incident with its keys in one order. A merged incident is built partly from what the store
 * gave back (jsonb keeps its own key order), so without this the same content would hash
 * differently each time and every re-read copy would redraw the card.
 */
export const canonicalIncident = (i: Incident): Incident => canonical(i) as Incident;
