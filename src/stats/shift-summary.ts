import { andMore, cutList, fitCard } from '../cards/budget';
import { spoken, untrusted } from '../cards/markdown';
import { renderCard, type CardAttachment } from '../cards/render-card';
import { ACTION_LABELS, targetValue, type ActionKind, type ActionTarget } from '../actions/action-kinds';
import type { Incident } from '../incidents/incident';
import { incidentLine } from '../incidents/render-incident-card';
import { escalationChain, scheduleTime } from '../paging/on-call';
import type { Schedule } from '../paging/schedule-types';
import type { Queryable } from '../store/db';

export interface ShiftSummary {
  from: Date;
  to: Date;
  cameIn: Array<{ incident: Incident; assessedSeverity?: string }>;
  stillOpen: Array<{ incident: Incident; assessedSeverity?: string }>;
  contained: Array<{ number: number; kind: ActionKind; target: ActionTarget; at: Date }>;
  /** Who is on call from `to`, level by level, by name. */
  next: Array<{ level: number; who: string }>;
  handoffText: string;
}

/**
 * What the outgoing shift hands over at a rotation hand-off (`to`): incidents raised during the
 * shift [from, to), the ones still open (any age), containment done during the shift, and who is
 * on call from `to`, named through `resolve` (Graph). Read from the store; sending the card is the
 * outbox's (it goes to the SOC channel like every other card).
 */
export async function computeShiftSummary(db: Queryable, s: Schedule, from: Date, to: Date, resolve: (person: string) => Promise<{ name: string }>): Promise<ShiftSummary> {
  const [cameIn, open, contained] = await Promise.all([
    db.query<{ data: Incident; assessed_severity: string | null }>(`SELECT data, assessed_severity FROM incidents WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at DESC`, [from, to]),
    db.query<{ data: Incident; assessed_severity: string | null }>(
      `SELECT data, assessed_severity FROM incidents WHERE status <> 'Closed' AND created_at < $1
       ORDER BY CASE COALESCE(assessed_severity, severity) WHEN 'Critical' THEN 0 WHEN 'High' THEN 1 WHEN 'Medium' THEN 2 WHEN 'Low' THEN 3 ELSE 4 END, created_at DESC`,
      [to],
    ),
    db.query<{ number: number; kind: ActionKind; target: ActionTarget; ended_at: Date }>(
      `SELECT i.number, a.kind, a.target, a.ended_at FROM actions a JOIN incidents i ON i.key = a.incident_key
       WHERE a.state = 'succeeded' AND a.undo_of IS NULL AND a.ended_at >= $1 AND a.ended_at < $2 ORDER BY a.ended_at`,
      [from, to],
    ),
  ]);
  const chain = escalationChain(s, new Date(to.getTime() + 60_000));
  const next = await Promise.all(chain.map(async (l) => ({ level: l.level, who: l.target.kind === 'channel' ? 'the SOC channel' : (await resolve(l.target.person)).name })));
  const row = (r: { data: Incident; assessed_severity: string | null }) => ({ incident: r.data, assessedSeverity: r.assessed_severity ?? undefined });
  return {
    from,
    to,
    cameIn: cameIn.rows.map(row),
    stillOpen: open.rows.map(row),
    contained: contained.rows.map((r) => ({ number: r.number, kind: r.kind, target: r.target, at: new Date(r.ended_at) })),
    next,
    handoffText: `${scheduleTime(s, from)} → ${scheduleTime(s, to)}`,
  };
}

/** The shift summary card for the SOC channel: longest lists cut first, each with "…and N more". */
export function renderShiftSummaryCard(v: ShiftSummary): CardAttachment {
  return fitCard(
    [
      { n: 10, title: 100 },
      { n: 5, title: 60 },
      { n: 3, title: 40 },
    ],
    (d) => {
      const came = cutList(v.cameIn, d.n);
      const open = cutList(v.stillOpen, d.n);
      const done = cutList(v.contained, d.n);
      return renderCard('shift-summary', {
        heading: '🔁 Shift hand-off',
        period: v.handoffText,
        speak: `Shift hand-off. ${v.cameIn.length} incidents came in, ${v.stillOpen.length} still open, ${v.contained.length} contained. On call next: ${v.next.map((n) => spoken(n.who, 60)).join(', ')}.`,
        next: v.next.map((n) => `L${n.level} ${untrusted(n.who, 60)}`).join(' → ') || '—',
        sections: [
          {
            title: `Came in (${v.cameIn.length})`,
            lines: came.shown.map((x) => ({ line: incidentLine(x.incident, d.title, x.assessedSeverity) })),
            more: andMore(came.hidden),
            empty: v.cameIn.length === 0 ? 'Nothing came in.' : '',
          },
          {
            title: `Still open (${v.stillOpen.length})`,
            lines: open.shown.map((x) => ({ line: incidentLine(x.incident, d.title, x.assessedSeverity) })),
            more: andMore(open.hidden, '· `incidents` lists them'),
            empty: v.stillOpen.length === 0 ? 'Nothing is open. ✅' : '',
          },
          {
            title: `Contained (${v.contained.length})`,
            lines: done.shown.map((x) => ({ line: `✅ #${x.number} ${ACTION_LABELS[x.kind]} ${untrusted(targetValue(x.target), 80)}` })),
            more: andMore(done.hidden, '· `audit <n>` has each record'),
            empty: v.contained.length === 0 ? 'Nothing was contained.' : '',
          },
        ],
      });
    },
  );
}
