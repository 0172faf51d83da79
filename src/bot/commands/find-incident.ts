import type { Incident } from '../../incidents/incident';
import { getIncidentByNumber } from '../../store/incident-repository';
import type { CommandDeps } from '../command';

/** The stored incident an argument like `42` or `#42` names, or a reply saying what is wrong. */
export async function findIncident(args: string, deps: CommandDeps): Promise<{ incident: Incident } | { text: string }> {
  const match = /^#?(\d{1,9})$/.exec(args.trim());
  if (!match) return { text: 'Which incident? Give its number, for example `ack 42`.' };
  const stored = await getIncidentByNumber(deps.db, Number(match[1]));
  return stored ? { incident: stored.incident } : { text: `I have not seen incident #${match[1]}.` };
}
