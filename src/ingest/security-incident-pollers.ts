import type { WorkspaceLogs } from '../workspaces/workspace-logs';
import { workspaceLabel } from '../workspaces/workspaces';
import { createSecurityIncidentPoller, SECURITY_INCIDENT_CURSOR, type PollReport, type SecurityIncidentPoller, type SecurityIncidentPollerOptions } from './security-incident-poller';

/**
 * The cursor (and lease) of one workspace's SecurityIncident table. A single workspace keeps the
 * name it always had, so an upgrade does not read its lookback again; with several, each is named
 * by its workspace id, which stays the same when the file is reordered or a name changes.
 */
export const securityIncidentCursorOf = (workspaceId: string, several: boolean): string => (several ? `${SECURITY_INCIDENT_CURSOR}:${workspaceId.toLowerCase()}` : SECURITY_INCIDENT_CURSOR);

/** What one poll of every workspace came to: the counts added up, every failure named; busy only if every workspace was. */
export function combinedReport(reports: PollReport[]): PollReport {
  const polled = reports.filter((r) => r.kind !== 'busy');
  if (polled.length === 0) return { kind: 'busy' };
  const failed = polled.filter((r) => r.kind === 'failed');
  const counts = { rows: 0, created: 0, updated: 0, unchanged: 0, malformed: 0 };
  for (const r of polled) if (r.kind === 'polled') for (const k of Object.keys(counts) as Array<keyof typeof counts>) counts[k] += r[k];
  if (failed.length > 0) return { kind: 'failed', reason: failed.map((f) => f.reason).join('; '), handled: counts.rows + failed.reduce((n, f) => n + f.handled, 0) };
  return { kind: 'polled', ...counts };
}

/**
 * One SecurityIncident poller per workspace, each reading its own workspace's table with its own
 * cursor and lease (so one slow or refusing workspace never holds the others back, and replicas
 * may share the work), behind the one poller the app starts and stops. Incidents come out tagged
 * with their workspace by the ingest path, which knows the listed workspaces.
 */
export function createSecurityIncidentPollers(o: Omit<SecurityIncidentPollerOptions, 'runner' | 'workspace' | 'cursor'> & { logs: WorkspaceLogs }): SecurityIncidentPoller {
  const several = o.logs.all.length > 1;
  const pollers = o.logs.all.map(({ workspace, runner }) => ({
    label: workspaceLabel(workspace),
    poller: createSecurityIncidentPoller({
      ...o,
      runner,
      workspace,
      cursor: securityIncidentCursorOf(workspace.workspaceId, several),
      logger: several ? o.logger.child({ workspace: workspaceLabel(workspace) }) : o.logger,
    }),
  }));
  if (pollers.length === 1) return pollers[0]!.poller;
  const pollOne = async ({ label, poller }: (typeof pollers)[number]): Promise<PollReport> => {
    const r = await poller.pollNow();
    return r.kind === 'failed' ? { ...r, reason: `${label}: ${r.reason}` } : r;
  };
  return {
    start: () => pollers.forEach((p) => p.poller.start()),
    stop: async () => {
      await Promise.all(pollers.map((p) => p.poller.stop()));
    },
    pollNow: async () => combinedReport(await Promise.all(pollers.map(pollOne))),
  };
}
