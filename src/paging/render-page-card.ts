import { defaultBudget, fitCard, type CardBudget } from '../cards/budget';
import { untrusted } from '../cards/markdown';
import { renderCard, type CardAttachment } from '../cards/render-card';
import { duration, formatTime, localTime } from '../incidents/render-incident-card';
import type { Incident } from '../incidents/incident';
import type { Page } from '../store/page-repository';
import { pagerDutyNameOf } from './pagerduty-events';

export interface PageView {
  page: Page;
  incident: Incident;
  severity: string;
  /** Display names of who was paged, level by level. */
  levels: Array<{ level: number; who: string }>;
  /** Name of whoever acknowledged. */
  ackedByName?: string;
  /** The page's last reassignment, named: to whom ("the next level", a person, PagerDuty's assignees), by whom. */
  reassigned?: { to: string; by: string; inPagerDuty: boolean };
  /** Who resolved the page in PagerDuty, when it was resolved there (rather than by the incident's close). */
  resolvedInPagerDutyBy?: string;
  /** Whom Reassign offers (open pages): the schedule's responders, by name. */
  responders?: Array<{ id: string; name: string }>;
}

const stateText = (v: PageView): { text: string; style: string } => {
  const p = v.page;
  if (p.state === 'acknowledged') {
    const inPagerDuty = pagerDutyNameOf(p.ackedBy);
    const who = inPagerDuty === undefined ? `by ${untrusted(v.ackedByName ?? p.ackedBy ?? 'someone', 80)}` : `in PagerDuty by ${untrusted(inPagerDuty, 80)}`;
    return { text: `✅ Acknowledged ${who} ${duration(p.ackedAt!.getTime() - p.createdAt.getTime())} after the page`, style: 'good' };
  }
  if (p.state === 'resolved') {
    const at = formatTime(p.resolvedAt!.toISOString());
    if (v.resolvedInPagerDutyBy !== undefined) return { text: `Resolved in PagerDuty by ${untrusted(v.resolvedInPagerDutyBy, 80)} at ${at}`, style: 'default' };
    return { text: `Resolved: the incident was closed at ${at}`, style: 'default' };
  }
  const last = v.levels.at(-1);
  const next = p.nextAt ? ` · next level ${formatTime(p.nextAt.toISOString())}` : '';
  return { text: `${last && last.level > 1 ? `⏫ Escalated to level ${last.level}: ${untrusted(last.who, 80)} — not acknowledged yet` : 'Waiting for acknowledgement'}${next}`, style: 'attention' };
};

/** The reason as recorded, and what changed since: a page raised at High that enrichment later assessed Critical says both. */
const reasonText = (v: PageView): string => {
  const at = /severity (\w+)/.exec(v.page.reason)?.[1];
  return at && at !== v.severity ? `${v.page.reason} · now ${v.severity}, as Vigil assessed it` : v.page.reason;
};

/** The 1:1 page card: what is burning, why you, who else was paged, and one click to take it. */
export function renderPageCard(v: PageView, budget: CardBudget = defaultBudget): CardAttachment {
  const state = stateText(v);
  return fitCard(
    [
      { title: 200, who: 60 },
      { title: 100, who: 30 },
    ],
    (d) =>
      renderCard('page', {
        headline: `🚨 Incident #${v.incident.number} · ${v.severity}`,
        title: untrusted(v.incident.title, d.title),
        severity: v.severity,
        reason: untrusted(reasonText(v), 160),
        paged: v.levels.map((l) => `L${l.level} ${untrusted(l.who, d.who)}`).join(' → ') || '—',
        state: state.text,
        stateStyle: state.style,
        history: `Paged ${localTime(v.page.createdAt)}`,
        pageId: String(v.page.id),
        open: v.page.state === 'open',
        reassigned: v.reassigned ? untrusted(`to ${v.reassigned.to}${v.reassigned.inPagerDuty ? ' in PagerDuty' : ''} by ${v.reassigned.by}`, 200) : '',
        // Directory names, escaped like every other name (a real one has nothing to escape).
        responders: (v.responders ?? []).map((r) => ({ id: r.id, name: untrusted(r.name, d.who) })),
        url: v.incident.url,
      }),
    budget,
  );
}
