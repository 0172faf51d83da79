import type { Schedule } from '../paging/schedule-types';
import type { MembershipCheck, Permission } from './membership';
import { isGuid } from '../ids';

/**
 * Who may use a command or a card button:
 * - `anyone`: everyone in the tenant (`help`);
 * - `staff`: responders, and everyone the action policy lets request or approve an action;
 * - `responder`: responders only (VIGIL_RESPONDER_GROUP_IDS / VIGIL_RESPONDER_USER_IDS);
 * - `oncall`: staff, and the people the on-call schedule pages (they must be able to acknowledge).
 */
export type Access = 'anyone' | 'staff' | 'responder' | 'oncall';

/** A command's or a verb's gate: who, and what they do there ("list incidents"), for the refusal. */
export interface Gate {
  access: Access;
  what: string;
}

const WHO: Record<Exclude<Access, 'anyone'>, string> = {
  responder: 'responders',
  staff: 'responders and those who may request or approve actions',
  oncall: 'responders, those who may request or approve actions, and the people on call',
};

export interface AccessDeps {
  responders: MembershipCheck;
  /** Requesters and approvers of any action kind; undefined without an action policy. */
  participants?: MembershipCheck;
  /** Entra object ids (lower case) of everyone the on-call schedule names; undefined without one. */
  onCallPeople?: () => Promise<Set<string>>;
}

/** Why a refusal happened, picking the reason the user can act on: who they are, or Graph being down. */
const reasonOf = (refusals: string[]): string => {
  const unknown = refusals.find((r) => r.startsWith('Teams did not say') || r.includes('could not be checked'));
  if (unknown) return unknown;
  return refusals.join(' and ');
};

/**
 * Decides a gate for one user: `help` for anyone, everything else for the roles the gate names.
 * The refusal names what the user lacks ("Only responders may run queries, and you are not a
 * member of a responder group."). Never opens by default: unconfigured roles hold nobody.
 */
export function createAccessControl(d: AccessDeps) {
  const staff = async (user: string | undefined, refusals: string[]): Promise<boolean> => {
    const r = await d.responders.check(user);
    if (r.allowed) return true;
    refusals.push(r.reason);
    if (!d.participants) return false;
    const p = await d.participants.check(user);
    if (p.allowed) return true;
    if (!p.reason.startsWith('Teams did not say')) refusals.push(p.reason.startsWith('you are not') ? 'you may not request or approve any action' : p.reason);
    return false;
  };
  return {
    async check(gate: Gate, user: string | undefined): Promise<Permission> {
      if (gate.access === 'anyone') return { allowed: true };
      const refusals: string[] = [];
      if (gate.access === 'responder') {
        const r = await d.responders.check(user);
        if (r.allowed) return r;
        refusals.push(r.reason);
      } else {
        if (await staff(user, refusals)) return { allowed: true };
        if (gate.access === 'oncall' && user && d.onCallPeople) {
          const people = await d.onCallPeople().catch(() => new Set<string>());
          if (people.has(user.toLowerCase())) return { allowed: true };
          refusals.push('you are not on the on-call schedule');
        }
      }
      return { allowed: false, reason: `Only ${WHO[gate.access]} may ${gate.what}, and ${reasonOf(refusals)}.` };
    },
  };
}

export type AccessControl = ReturnType<typeof createAccessControl>;

/** Everyone a schedule names, in rotations, overrides and escalation levels (object ids or UPNs). */
export const schedulePeople = (s: Schedule): string[] => [
  ...new Set([...s.rotations.flatMap((r) => r.people), ...s.overrides.map((o) => o.person), ...s.escalation.flatMap((l) => (l.person ? [l.person] : []))]),
];

/**
 * The on-call people's object ids, resolved once (UPNs through `resolvePerson`); a failed look-up
 * is not remembered, so the next check tries again.
 */
export function createOnCallPeople(schedule: Schedule, resolvePerson: (person: string) => Promise<{ aadObjectId?: string }>): () => Promise<Set<string>> {
  let known: Promise<Set<string>> | undefined;
  const load = async () => {
    const ids = await Promise.all(schedulePeople(schedule).map(async (p) => (isGuid(p) ? p : (await resolvePerson(p)).aadObjectId)));
    return new Set(ids.filter((id): id is string => typeof id === 'string').map((id) => id.toLowerCase()));
  };
  return () => {
    known ??= load().catch((e: unknown) => {
      known = undefined;
      throw e;
    });
    return known;
  };
}
