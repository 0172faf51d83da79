import type { Entity, Incident } from '../incidents/incident';
import type { Queryable } from '../store/db';

/** Kinds that contain a threat (threat-intelligence indicators share it, they do not contain it). */
const CONTAINMENT_KINDS = ['block-ip', 'isolate-vm', 'disable-user', 'block-hash'];
const SEVERITIES = ['Critical', 'High', 'Medium', 'Low', 'Informational'] as const;

/** Per incident, how long each step of the response took from the incident's creation, in ms. */
export interface ResponseDurations {
  acknowledgeMs: number[];
  firstRequestMs: number[];
  approvalMs: number[];
  containmentMs: number[];
}

export interface SocStats {
  from: Date;
  to: Date;
  /** Incidents created in the window, by Vigil's assessed severity where it has one. */
  bySeverity: Record<(typeof SEVERITIES)[number], number>;
  incidents: number;
  durations: ResponseDurations;
  /** Actions asked for in the window, by kind and where they ended (state). */
  actions: Array<{ kind: string; outcome: string; count: number }>;
  /** The entities seen in most incidents of the window. */
  topEntities: Array<{ kind: Entity['kind']; value: string; incidents: number }>;
}

/** The middle value (mean of the two middle ones for an even count); undefined for none. */
export const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const ms = (a: Date | string, b: Date | string) => new Date(b).getTime() - new Date(a).getTime();

/**
 * The response times of incidents created in [from, to): time to acknowledge their page, and from
 * the incident to its first action request, its first approval (from the audit) and its first
 * containment done. Read from the store, so every replica reports the same figures.
 */
export async function responseDurations(db: Queryable, from: Date, to: Date): Promise<ResponseDurations> {
  const [pages, steps] = await Promise.all([
    db.query<{ created_at: Date; acked_at: Date }>(
      `SELECT p.created_at, p.acked_at FROM pages p JOIN incidents i ON i.key = p.incident_key
       WHERE i.created_at >= $1 AND i.created_at < $2 AND p.acked_at IS NOT NULL`,
      [from, to],
    ),
    db.query<{ created_at: Date; first_request: Date | null; first_approval: Date | null; contained: Date | null }>(
      `SELECT i.created_at,
              (SELECT min(a.created_at) FROM actions a WHERE a.incident_key = i.key AND a.undo_of IS NULL) AS first_request,
              (SELECT min(au.at) FROM audit au WHERE au.target = i.key AND au.action = 'action.approved') AS first_approval,
              (SELECT min(a.ended_at) FROM actions a WHERE a.incident_key = i.key AND a.undo_of IS NULL AND a.state = 'succeeded' AND a.kind = ANY($3::text[])) AS contained
       FROM incidents i WHERE i.created_at >= $1 AND i.created_at < $2`,
      [from, to, CONTAINMENT_KINDS],
    ),
  ]);
  const after = (rows: typeof steps.rows, pick: (r: (typeof steps.rows)[number]) => Date | null) =>
    rows.flatMap((r) => {
      const at = pick(r);
      return at ? [Math.max(0, ms(r.created_at, at))] : [];
    });
  return {
    acknowledgeMs: pages.rows.map((r) => Math.max(0, ms(r.created_at, r.acked_at))),
    firstRequestMs: after(steps.rows, (r) => r.first_request),
    approvalMs: after(steps.rows, (r) => r.first_approval),
    containmentMs: after(steps.rows, (r) => r.contained),
  };
}

/** The SOC's numbers for incidents created in [now − windowMs, now), all from stored data. */
export async function computeSocStats(db: Queryable, now: Date, windowMs: number, topN = 5): Promise<SocStats> {
  const from = new Date(now.getTime() - windowMs);
  const [incidents, actions, durations] = await Promise.all([
    db.query<{ sev: string; data: Incident }>(`SELECT COALESCE(assessed_severity, severity) AS sev, data FROM incidents WHERE created_at >= $1 AND created_at < $2`, [from, now]),
    db.query<{ kind: string; state: string; count: number }>(
      `SELECT kind, state, count(*)::int AS count FROM actions WHERE created_at >= $1 AND created_at < $2 AND undo_of IS NULL GROUP BY kind, state ORDER BY count DESC, kind, state`,
      [from, now],
    ),
    responseDurations(db, from, now),
  ]);
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as SocStats['bySeverity'];
  const seen = new Map<string, { kind: Entity['kind']; value: string; incidents: number }>();
  for (const row of incidents.rows) {
    if (row.sev in bySeverity) bySeverity[row.sev as keyof SocStats['bySeverity']]++;
    const own = new Set<string>();
    for (const e of row.data.entities ?? []) {
      const key = `${e.kind}:${e.value.toLowerCase()}`;
      if (own.has(key)) continue;
      own.add(key);
      const hit = seen.get(key) ?? { kind: e.kind, value: e.value, incidents: 0 };
      hit.incidents++;
      seen.set(key, hit);
    }
  }
  const topEntities = [...seen.values()]
    .filter((x) => x.incidents > 1)
    .sort((a, b) => b.incidents - a.incidents || a.value.localeCompare(b.value))
    .slice(0, topN);
  return { from, to: now, bySeverity, incidents: incidents.rows.length, durations, actions: actions.rows.map((r) => ({ kind: r.kind, outcome: r.state, count: r.count })), topEntities };
}

const WEEK = 7 * 24 * 3_600_000;

/** What `/metrics` reports as `vigil_response_seconds`: the last 7 days' response times per step. */
export const metricResponseTimes = async (db: Queryable, now: Date = new Date()) => {
  const d = await responseDurations(db, new Date(now.getTime() - WEEK), now);
  return { acknowledge: d.acknowledgeMs, first_request: d.firstRequestMs, approval: d.approvalMs, containment: d.containmentMs };
};
