import { untrusted } from '../../cards/markdown';
import { escalationChain } from '../../paging/on-call';
import type { Command } from '../command';

/** Who is on call now, per level, and who takes over at the next hand-off. */
export const oncallCommand: Command = {
  usage: 'oncall',
  gate: { access: 'oncall', what: 'see who is on call' },
  description: 'Who is on call now and next, per escalation level',
  async handle(_args, _caller, deps) {
    if (!deps.paging) return { text: 'Paging is not configured (VIGIL_ONCALL_FILE).' };
    const now = deps.paging.clock();
    const nowChain = escalationChain(deps.paging.schedule, now);
    const later = escalationChain(deps.paging.schedule, new Date(now.getTime() + 24 * 3_600_000));
    const name = async (t: (typeof nowChain)[number]['target']) => (t.kind === 'channel' ? 'the SOC channel' : (await deps.paging!.resolvePerson(t.person)).name);
    const lines = await Promise.all(
      nowChain.map(async (l, i) => `**L${l.level}** ${untrusted(await name(l.target), 80)} (${untrusted(l.via, 40)}, ${l.waitMinutes} min) · in 24 h: ${untrusted(await name(later[i]!.target), 80)}`),
    );
    return { text: `On call now (${deps.paging.schedule.timeZone}):\n\n${lines.join('\n\n')}` };
  },
};
