import { untrusted } from '../../cards/markdown';
import { escalationChain, nextHandoff, scheduleTime } from '../../paging/on-call';
import type { Command } from '../command';

/** Who is on call now, per level, and who takes over at the next hand-off, in the schedule's time zone. */
export const oncallCommand: Command = {
  usage: 'oncall',
  gate: { access: 'oncall', what: 'see who is on call' },
  description: 'Who is on call now and after the next hand-off, per escalation level',
  async handle(_args, _caller, deps) {
    if (!deps.paging) return { text: 'Paging is not configured (VIGIL_ONCALL_FILE).' };
    const { schedule } = deps.paging;
    const now = deps.paging.clock();
    const nowChain = escalationChain(schedule, now);
    const handoff = nextHandoff(schedule, now);
    // Just after the hand-off: who is on call then.
    const later = handoff ? escalationChain(schedule, new Date(handoff.at.getTime() + 60_000)) : nowChain;
    const name = async (t: (typeof nowChain)[number]['target']) => (t.kind === 'channel' ? 'the SOC channel' : (await deps.paging!.resolvePerson(t.person)).name);
    const lines = await Promise.all(
      nowChain.map(async (l, i) => {
        const [current, next] = await Promise.all([name(l.target), name(later[i]!.target)]);
        const change = next === current ? 'stays on after the hand-off' : `then ${untrusted(next, 80)}`;
        return `**L${l.level}** ${untrusted(current, 80)} (${untrusted(l.via, 40)}, ${l.waitMinutes} min) · ${change}`;
      }),
    );
    const when = handoff ? `Next hand-off: ${untrusted(handoff.rotation, 40)} at ${scheduleTime(schedule, handoff.at)}.` : '';
    return { text: `On call now (${scheduleTime(schedule, now)}):\n\n${lines.join('\n\n')}\n\n${when}` };
  },
};
