import type { Schedule } from './schedule-types';

/**
 * Everyone the on-call schedule names (rotations, overrides, people in the chain), once each,
 * lower-cased (object ids and UPNs compare case-insensitively): whom a page may be reassigned to.
 */
export function scheduleResponders(s: Schedule): string[] {
  const named = [...s.rotations.flatMap((r) => r.people), ...s.overrides.map((o) => o.person), ...s.escalation.flatMap((l) => (l.person ? [l.person] : []))];
  return [...new Set(named.map((p) => p.trim().toLowerCase()))];
}

/**
 * The schedule's own spelling of `input` (an object id or a UPN, any case), or the one responder
 * whose display name it is; undefined for anyone the schedule does not name, so a card's choice
 * or a typed name is never trusted past the schedule.
 */
export async function findResponder(s: Schedule, input: string, nameOf: (person: string) => Promise<{ name: string }>): Promise<string | undefined> {
  const wanted = input.trim().toLowerCase();
  if (!wanted) return undefined;
  const people = scheduleResponders(s);
  if (people.includes(wanted)) return wanted;
  const named = await Promise.all(people.map(async (p) => ({ p, name: (await nameOf(p)).name.toLowerCase() })));
  const matches = named.filter((n) => n.name === wanted);
  return matches.length === 1 ? matches[0]!.p : undefined;
}
