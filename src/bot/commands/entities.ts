import { fitCard } from '../../cards/budget';
import { untrusted } from '../../cards/markdown';
import { renderCard, type CardAttachment } from '../../cards/render-card';
import { summarizeEnrichment } from '../../enrichment/summarize';
import type { SourceResult } from '../../enrichment/types';
import { incidentRef, type Incident } from '../../incidents/incident';
import { entityLabel, entityText } from '../../incidents/render-incident-card';
import { listEnrichments } from '../../store/enrichment-repository';
import type { Command } from '../command';
import { findIncident } from './find-incident';

export const ENTITIES_PER_PAGE = 40;

/** Longest entity text per line, longest first: a page of long command lines still fits a message. */
const TEXT_LENGTHS = [300, 160, 80];

/**
 * One page of an incident's entities, as stored (every one Sentinel sent), each with its risk when
 * a source scored it. Pages count from 1; a page past the end shows the last.
 */
export function renderEntityPage(incident: Incident, risks: Map<string, number>, page: number): CardAttachment {
  const total = incident.entities.length;
  const pages = Math.max(1, Math.ceil(total / ENTITIES_PER_PAGE));
  const n = Math.min(Math.max(1, page), pages);
  const first = (n - 1) * ENTITIES_PER_PAGE;
  const shown = incident.entities.slice(first, first + ENTITIES_PER_PAGE);
  const heading = `Entities · incident ${untrusted(incidentRef(incident), 45)} · ${untrusted(incident.title, 80)}`;
  const more = [
    total === 0 ? 'Sentinel sent no entities for this incident.' : `${first + 1}–${first + shown.length} of ${total} · page ${n} of ${pages}.`,
    n < pages ? `\`entities ${incident.number} ${n + 1}\` for the next page.` : '',
  ]
    .filter((x) => x !== '')
    .join(' ');
  return fitCard(TEXT_LENGTHS, (max) =>
    renderCard('incident-list', {
      heading,
      lines: shown.map((e) => {
        const risk = risks.get(`${e.kind}:${e.value}`);
        return { line: `**${entityLabel[e.kind]}** ${entityText(e, max)}${risk === undefined ? '' : ` — risk ${Math.round(risk)}`}` };
      }),
      more,
    }),
  );
}

/** `entities <n> [page]`: every entity of a stored incident, a page at a time — what its card had no room for. */
export const entitiesCommand: Command = {
  usage: 'entities <number> [page]',
  gate: { access: 'staff', what: 'read incidents' },
  description: 'Every entity of an incident, with its risk, a page at a time',
  async handle(args, _caller, deps) {
    const [number = '', page = '1', ...rest] = args.split(/\s+/);
    if (rest.length > 0 || !/^\d{1,6}$/.test(page)) return { text: 'Usage: `entities <number> [page]`, for example `entities 42 2`.' };
    const found = await findIncident(number, deps);
    if ('text' in found) return found;
    const summary = summarizeEnrichment(found.incident, await listEnrichments<SourceResult>(deps.db, found.incident.key), deps.providers);
    const risks = new Map(summary.entities.filter((e) => e.score !== undefined).map((e) => [`${e.entity.kind}:${e.entity.value}`, e.score!] as const));
    return { card: renderEntityPage(found.incident, risks, Number(page)) };
  },
};
