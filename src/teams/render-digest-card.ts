import { truncate } from '../cards/markdown';
import { renderCard, type CardAttachment } from '../cards/render-card';
import { SEVERITIES } from '../incidents/incident';
import { formatTime, incidentLine } from '../incidents/render-incident-card';
import type { Digest, DigestLine } from '../store/digest-queue';

/** Teams refuses a message much over 28 KB; a full digest of long titles would pass it. */
const MAX_CARD_BYTES = 26_000;
/** Titles are shortened, one step at a time, only as far as the size needs. */
const TITLE_LENGTHS = [120, 80, 50, 30];

const raisedTo = (l: DigestLine) => (l.incident.severity === 'High' ? 'now High' : `assessed ${l.assessedSeverity ?? 'High'}`);

/** The same line as `incidents` shows in chat (title escaped and defanged there), plus where it went. */
const lineText = (l: DigestLine, titleMax: number): string => {
  const text = incidentLine({ ...l.incident, title: truncate(l.incident.title, titleMax) });
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
export function renderDigestCard(digest: Digest, now: Date = new Date()): CardAttachment {
  const n = digest.lines.length;
  const example = digest.lines[0]?.incident.number ?? 42;
  const data = (titleMax: number) => ({
    heading: `🗂 Storm digest #${digest.id} · ${n} incident${n === 1 ? '' : 's'}`,
    counts: countsOf(digest.lines),
    lines: digest.lines.map((l) => ({ number: l.incident.number, text: lineText(l, titleMax) })),
    footer:
      `Medium, Low and Informational incidents that arrived during a storm, newest first; High and Critical ones always get their own card. ` +
      `**Open** shows one incident's full card (to you only); so does \`incident ${example}\` in chat. ` +
      `Started ${formatTime(digest.startedAt.toISOString())} · updated ${formatTime(now.toISOString())}.`,
  });
  let card = renderCard('digest', data(TITLE_LENGTHS[0]!));
  for (const max of TITLE_LENGTHS.slice(1)) {
    if (Buffer.byteLength(JSON.stringify(card.content)) <= MAX_CARD_BYTES) break;
    card = renderCard('digest', data(max));
  }
  return card;
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
