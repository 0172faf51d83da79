import { AppError } from '../errors';
import type { IncidentWriter } from '../sentinel/incident-writer';
import { writeBackOf, type Incident } from './incident';

/**
 * One incident writer over the two ways an incident is written: each call goes the way the
 * incident records (`writeBack`), Graph for Defender's unified incidents, SecurityInsights REST
 * for the rest. Without a Graph writer (no Graph endpoint or credential) a Graph incident's write
 * is refused, saying what to set, rather than sent to Sentinel, which does not have it.
 */
export function routeWriteBack(o: { sentinel: IncidentWriter; graph?: IncidentWriter }): IncidentWriter {
  const writerFor = (incident: Incident): IncidentWriter => {
    if (writeBackOf(incident) === 'sentinel') return o.sentinel;
    if (!o.graph) throw new AppError('CONFIG_INVALID', 'this incident lives in Defender and is written through Microsoft Graph; set GRAPH_ENDPOINT or an Azure credential');
    return o.graph;
  };
  return {
    assign: (incident, by) => writerFor(incident).assign(incident, by),
    comment: (incident, by, text) => writerFor(incident).comment(incident, by, text),
    close: (incident, by, choice, comment) => writerFor(incident).close(incident, by, choice, comment),
  };
}
