import { fitCard } from '../../cards/budget';
import { renderCard } from '../../cards/render-card';
import { incidentLine } from '../../incidents/render-incident-card';
import { countOpenIncidents, listOpenIncidentsAssessed } from '../../store/incident-repository';
import type { Command } from '../command';

const SHOWN = 10;

export const incidentsCommand: Command = {
  usage: 'incidents',
  gate: { access: 'staff', what: 'list incidents' },
  description: 'Open incidents, most severe (as Vigil assessed them) and newest first',
  async handle(_args, _caller, deps) {
    const [open, total] = await Promise.all([listOpenIncidentsAssessed(deps.db, SHOWN), countOpenIncidents(deps.db)]);
    if (open.length === 0) return { text: 'No open incidents. ✅' };
    const card = fitCard([120, 60], (titleMax) =>
      renderCard('incident-list', {
        heading: `${total} open incident${total === 1 ? '' : 's'}`,
        lines: open.map((i) => ({ line: incidentLine(i.incident, titleMax, i.assessedSeverity) })),
        more: total > open.length ? `Showing the first ${open.length}. Type \`incident <number>\` for one.` : 'Type `incident <number>` for one.',
      }),
    );
    return { card };
  },
};
