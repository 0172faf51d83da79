import { untrusted } from '../../cards/markdown';
import { incidentRef } from '../../incidents/incident';
import { fitCard } from '../../cards/budget';
import { renderCard } from '../../cards/render-card';
import { formatTime } from '../../incidents/render-incident-card';
import { listAudit } from '../../store/action-repository';
import { peopleNames } from '../../paging/resolve-person';
import type { Command } from '../command';
import { findIncident } from './find-incident';

const SHOWN = 40;

const detailOf = (d: Record<string, unknown>): string => {
  const target = d.target as Record<string, unknown> | undefined;
  const parts = [
    typeof d.kind === 'string' ? d.kind : undefined,
    target ? String(target.ip ?? target.host ?? target.upn ?? target.user ?? target.hash ?? target.indicator ?? '') : undefined,
    typeof d.action === 'string' ? `ref ${d.action.slice(0, 8)}` : undefined,
    typeof d.error === 'string' ? `error: ${d.error}` : undefined,
    typeof d.reason === 'string' ? d.reason : undefined,
    typeof d.classification === 'string' ? d.classification : undefined,
  ];
  return parts.filter((p) => p !== undefined && p !== '').join(' · ');
};

/** `audit <n>`: the incident's record — every request, decision, attempt outcome and write-back — oldest first. */
export const auditCommand: Command = {
  usage: 'audit <number>',
  gate: { access: 'staff', what: 'read the audit' },
  description: "An incident's record: who asked, who decided, what ran",
  async handle(args, _caller, deps) {
    const found = await findIncident(args, deps);
    if ('text' in found) return found;
    const rows = await listAudit(deps.db, found.incident.key, SHOWN);
    if (rows.length === 0) return { text: `Nothing is recorded for incident ${untrusted(incidentRef(found.incident), 45)} yet.` };
    const names = await peopleNames(deps.db, [...new Set(rows.map((r) => r.actor))], deps.paging?.resolvePerson);
    const line = (r: (typeof rows)[number], max: number) =>
      `${formatTime(r.at.toISOString())} · **${untrusted(names.get(r.actor.toLowerCase()) ?? r.actor, 60)}** · ${untrusted(r.action, 40)}${detailOf(r.details) ? ` · ${untrusted(detailOf(r.details), max)}` : ''}`;
    // Fewer entries and shorter details until the record fits one message.
    const card = fitCard(
      [
        { n: SHOWN, max: 200 },
        { n: SHOWN, max: 80 },
        { n: 20, max: 80 },
        { n: 10, max: 60 },
      ],
      (d) =>
        renderCard('incident-list', {
          heading: `Audit · incident ${untrusted(incidentRef(found.incident), 45)}`,
          lines: rows.slice(0, d.n).map((r) => ({ line: line(r, d.max) })),
          more: rows.length > d.n || rows.length >= SHOWN ? `Showing the first ${Math.min(d.n, rows.length)} entries.` : 'Append-only: nothing here can be changed.',
        }),
    );
    return { card };
  },
};
