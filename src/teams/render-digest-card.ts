import { andMore, defaultBudget, fitCard, type CardBudget } from '../cards/budget';
import { renderCard, type CardAttachment } from '../cards/render-card';
import { SEVERITIES } from '../incidents/incident';
import { formatTime, incidentButtonData, incidentLine } from '../incidents/render-incident-card';
import type { Digest, DigestLine } from '../store/digest-queue';

/**
 * Titles are shortened, one step at a time, only as far as the size needs; a digest of very many
 * lines then shows its newest ones, and `incidents` lists the rest.
 */
const DETAIL = [
  { title: 120, lines: Infinity },
  { title: 80, lines: Infinity },
  { title: 50, lines: Infinity },
  { title: 30, lines: Infinity },
  { title: 30, lines: 40 },
  { title: 30, lines: 15 },
  { title: 30, lines: 5 },
];

const raisedTo = (l: DigestLine) => (l.incident.severity === 'High' ? 'now High' : `assessed ${l.assessedSeverity ?? 'High'}`);

/** The same line as `incidents` shows in chat (title escaped and defanged there), plus where it went. */
const lineText = (l: DigestLine, titleMax: number): string => {
  const text = incidentLine(l.incident, titleMax);
  return l.ownCard ? `${text} · ⬆ **${raisedTo(l)}: posted as its own card**` : text;
};

const countsOf = (lines: DigestLine[]): string => {
  const bySeverity = SEVERITIES.map((s) => [s, lines.filter((l) => l.incident.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const own = lines.filter((l) => l.ownCard).length;
  return [...bySeverity, ...(own > 0 ? [`${own} since raised to their own card`] : [])].join(' · ');
};

/**
 * The storm digest for one channel: a line per incident, newest first, each with an Open button
 * (`digest.open`, carrying only the incident number). Every title is untrusted and goes through
 * the same escaping as the incident card.
 */
export function renderDigestCard(digest: Digest, now: Date = new Date(), budget: CardBudget = defaultBudget): CardAttachment {
  const n = digest.lines.length;
  const example = digest.lines[0]?.incident.number ?? 42;
  return fitCard(
    DETAIL,
    (d) => {
      const shown = digest.lines.slice(0, d.lines);
      return renderCard('digest', {
        heading: `🗂 Storm digest #${digest.id} · ${n} incident${n === 1 ? '' : 's'}`,
        counts: countsOf(digest.lines),
        lines: shown.map((l) => ({ number: l.incident.number, data: incidentButtonData(l.incident), text: lineText(l, d.title) })),
        footer:
          `${andMore(n - shown.length, 'in this digest: `incidents` lists every open incident. ')}` +
          `Medium, Low and Informational incidents that arrived during a storm, newest first; High and Critical ones always get their own card. ` +
          `**Open** shows one incident's full card (to you only); so does \`incident ${example}\` in chat. ` +
          `Started ${formatTime(digest.startedAt.toISOString())} · updated ${formatTime(now.toISOString())}.`,
      });
    },
    budget,
  );
}

/**
 * An incident card opened from a digest replaces the digest in the clicker's view: this adds the
 * way back (`digest.show`). Returns a copy; the card is not changed.
 */
export function withBackToDigest(card: CardAttachment, digestId: number): CardAttachment {
  const body = Array.isArray(card.content.body) ? card.content.body : [];
  const back = { type: 'ActionSet', separator: true, actions: [{ type: 'Action.Execute', title: '⬅ Back to the digest', verb: 'digest.show', data: { digest: digestId } }] };
  return { ...card, content: { ...card.content, body: [...body, back] } };
}
