import type { Incident } from '../../incidents/incident';
import { listIncidentsByNumber } from '../../store/incident-repository';
import type { Queryable } from '../../store/db';
import { incidentInWorkspace, workspaceLabelOf } from '../../workspaces/workspaces';
import type { CommandDeps } from '../command';

/** `1041`, `#1041` or `contoso/1041`: an incident number, and the workspace when two have that number. */
export const INCIDENT_REF = /^(?:([a-z0-9][a-z0-9_.-]{0,31})\/)?#?(\d{1,9})$/i;

export type Lookup = { incident: Incident } | { text: string } | { missing: { number: number; workspace?: string } };

/**
 * The stored incident `ref` names. A number two workspaces share is not guessed at: the reply
 * names each and how to say which (`incident contoso/1041`).
 */
export async function lookUpIncident(db: Queryable, ref: string): Promise<Lookup> {
  const match = INCIDENT_REF.exec(ref.trim());
  if (!match) return { text: 'Which incident? Give its number, for example `ack 42`, or its workspace and number, `ack contoso/42`.' };
  const [, workspace, digits] = match;
  const number = Number(digits);
  const found = (await listIncidentsByNumber(db, number)).filter((s) => workspace === undefined || incidentInWorkspace(s.incident, workspace));
  if (found.length === 0) return { missing: { number, workspace } };
  if (found.length === 1) return { incident: found[0]!.incident };
  const labels = [...new Set(found.map((s) => workspaceLabelOf(s.incident)))].sort();
  return {
    text: `Incident #${number} is in ${labels.length} workspaces: ${labels.join(', ')}. Which one? Say it with the workspace, for example \`incident ${labels[0]}/${number}\`.`,
  };
}

export const notSeen = (m: { number: number; workspace?: string }) => `I have not seen incident ${m.workspace ? `${m.workspace}/` : '#'}${m.number}.`;

/** The stored incident an argument like `42`, `#42` or `contoso/42` names, or a reply saying what is wrong. */
export async function findIncident(args: string, deps: Pick<CommandDeps, 'db'>): Promise<{ incident: Incident } | { text: string }> {
  const found = await lookUpIncident(deps.db, args);
  return 'missing' in found ? { text: notSeen(found.missing) } : found;
}
