import { untrusted } from '../../cards/markdown';
import { MAX_COMMENT } from '../../sentinel/incident-writer';
import { closeChoicesFor } from '../../graph/graph-close-choices';
import { incidentRef, portalNameOf, type Incident } from '../../incidents/incident';
import type { Caller, Command, CommandDeps, Reply } from '../command';
import { findIncident } from './find-incident';

const CLOSE_WORDS: Record<string, string> = {
  tp: 'TruePositive/SuspiciousActivity',
  'true-positive': 'TruePositive/SuspiciousActivity',
  bp: 'BenignPositive/SuspiciousButExpected',
  'benign-positive': 'BenignPositive/SuspiciousButExpected',
  fp: 'FalsePositive/IncorrectAlertLogic',
  'false-positive': 'FalsePositive/IncorrectAlertLogic',
  'fp-data': 'FalsePositive/InaccurateData',
  undetermined: 'Undetermined',
};

/** Responders only; then the incident, then the write, with Sentinel's refusal passed on in words. */
const writeCommand =
  (what: string, act: (incident: Incident, caller: Caller & { aadObjectId: string }, rest: string, deps: CommandDeps) => Promise<Reply>) =>
  async (args: string, caller: Caller, deps: CommandDeps): Promise<Reply> => {
    if (!caller.aadObjectId) return { text: 'Teams did not say who you are.' };
    const [first = '', ...rest] = args.split(/\s+/);
    const found = await findIncident(first, deps);
    if ('text' in found) return found;
    const permission = await deps.responders.check(caller.aadObjectId);
    if (!permission.allowed) return { text: `Only responders may ${what}, and ${permission.reason}.` };
    try {
      return await act(found.incident, { ...caller, aadObjectId: caller.aadObjectId }, rest.join(' ').trim(), deps);
    } catch (e) {
      deps.logger.warn({ err: e, incident: found.incident.number }, `${what} failed`);
      return { text: `${portalNameOf(found.incident)} did not take it: ${untrusted(e instanceof Error ? e.message : 'unexpected error', 300)}` };
    }
  };

export const assignCommand: Command = {
  usage: 'assign <number>',
  gate: { access: 'responder', what: 'assign incidents' },
  description: 'Assign an incident to yourself in Sentinel',
  handle: writeCommand('assign incidents', async (incident, caller, _rest, deps) => {
    await deps.incidentWriter.assign(incident, { id: caller.aadObjectId, name: caller.name });
    return { text: `Incident ${untrusted(incidentRef(incident), 45)} is assigned to you.` };
  }),
};

export const commentCommand: Command = {
  usage: 'comment <number> <text>',
  gate: { access: 'responder', what: 'comment on incidents' },
  description: 'Add a comment to an incident in Sentinel',
  handle: writeCommand('comment on incidents', async (incident, caller, rest, deps) => {
    if (rest === '') return { text: 'What should the comment say? For example `comment 42 blocked at the firewall`.' };
    if (rest.length > MAX_COMMENT) return { text: `A comment is at most ${MAX_COMMENT} characters.` };
    await deps.incidentWriter.comment(incident, { id: caller.aadObjectId, name: caller.name }, rest);
    return { text: `Your comment is on incident ${untrusted(incidentRef(incident), 45)} in ${portalNameOf(incident)}.` };
  }),
};

export const closeCommand: Command = {
  usage: 'close <number> <tp | bp | fp | fp-data | undetermined> [comment]',
  gate: { access: 'responder', what: 'close incidents' },
  description: 'Close an incident in Sentinel with a classification',
  handle: writeCommand('close incidents', async (incident, caller, rest, deps) => {
    const [word = '', ...comment] = rest.split(/\s+/);
    const choice = CLOSE_WORDS[word.toLowerCase()];
    if (!choice)
      return {
        text: 'How should it be classified? `tp` (true positive), `bp` (benign positive), `fp` (false positive, incorrect alert logic), `fp-data` (false positive, inaccurate data) or `undetermined`.',
      };
    if (incident.status === 'Closed') return { text: `Incident ${untrusted(incidentRef(incident), 45)} is already closed.` };
    await deps.incidentWriter.close(incident, { id: caller.aadObjectId, name: caller.name }, choice, comment.join(' '));
    return { text: `Incident ${untrusted(incidentRef(incident), 45)} is closed as ${closeChoicesFor(incident)[choice]!.label}.` };
  }),
};
