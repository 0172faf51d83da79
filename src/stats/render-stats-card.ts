import { fitCard } from '../cards/budget';
import { untrusted } from '../cards/markdown';
import { renderCard, type CardAttachment } from '../cards/render-card';
import { ACTION_LABELS, type ActionKind } from '../actions/action-kinds';
import { duration } from '../incidents/render-incident-card';
import { median, type SocStats } from './soc-stats';

const OUTCOME: Record<string, string> = {
  succeeded: 'done',
  failed: 'failed',
  requested: 'waiting',
  approved: 'queued',
  queued: 'queued',
  running: 'running',
  rejected: 'rejected',
  expired: 'expired',
  cancelled: 'cancelled',
};

const med = (xs: number[]) => {
  const m = median(xs);
  return m === undefined ? '—' : `${duration(m)} (${xs.length})`;
};

/** One window's figures as facts: what came in, how fast the SOC answered, what was done, what recurs. */
export function statsFacts(s: SocStats, maxEntity = 60): Array<{ title: string; value: string }> {
  const sev = Object.entries(s.bySeverity)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const byKind = new Map<string, string[]>();
  for (const a of s.actions) byKind.set(a.kind, [...(byKind.get(a.kind) ?? []), `${a.count} ${OUTCOME[a.outcome] ?? a.outcome}`]);
  return [
    { title: 'Incidents', value: s.incidents === 0 ? 'none' : `${s.incidents}${sev ? ` (${sev})` : ''}` },
    { title: 'Median time to acknowledge', value: med(s.durations.acknowledgeMs) },
    { title: 'Median to first request', value: med(s.durations.firstRequestMs) },
    { title: 'Median to approval', value: med(s.durations.approvalMs) },
    { title: 'Median to contain', value: med(s.durations.containmentMs) },
    { title: 'Actions', value: byKind.size === 0 ? 'none' : [...byKind].map(([k, v]) => `${ACTION_LABELS[k as ActionKind] ?? untrusted(k, 30)}: ${v.join(', ')}`).join(' · ') },
    { title: 'Most frequent entities', value: s.topEntities.length === 0 ? 'none seen twice' : s.topEntities.map((e) => `${untrusted(e.value, maxEntity)} (${e.incidents})`).join(', ') },
  ];
}

/**
 * The `stats` card: the last 24 hours and the last 7 days side by side in time, medians with how
 * many incidents they are over. Pure; within the card budget (long entity names are cut first).
 */
export function renderStatsCard(windows: Array<{ title: string; stats: SocStats }>): CardAttachment {
  return fitCard([60, 30], (maxEntity) =>
    renderCard('stats', {
      heading: '📊 SOC numbers',
      speak: windows.map((w) => `${w.title}: ${w.stats.incidents} incidents; median time to contain ${med(w.stats.durations.containmentMs)}.`).join(' '),
      windows: windows.map((w) => ({ title: w.title, facts: statsFacts(w.stats, maxEntity) })),
      note: 'Incidents counted by when they were raised, by Vigil’s assessed severity; times run from the incident’s creation. (n) is how many incidents a median is over.',
    }),
  );
}
