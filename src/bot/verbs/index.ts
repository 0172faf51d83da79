import { approveVerb, cancelVerb, refreshVerb, rejectVerb, requestVerb, undoVerb } from './action-verbs';
import { assignVerb, closeVerb, commentVerb } from './incident-verbs';
import { openFromDigestVerb, showDigestVerb } from './digest-verbs';
import { acknowledgeVerb, reassignVerb, snoozeVerb } from './page-verbs';
import { openCaseVerb } from './case-verbs';
import type { Gate } from '../../auth/access';
import type { VerbHandler } from './verb';

export type Verb =
  | 'action.request'
  | 'action.approve'
  | 'action.reject'
  | 'action.cancel'
  | 'action.undo'
  | 'card.refresh'
  | 'digest.open'
  | 'digest.show'
  | 'incident.assign'
  | 'incident.comment'
  | 'incident.close'
  | 'page.ack'
  | 'page.snooze'
  | 'page.reassign'
  | 'case.open';

/** Card buttons (`Action.Execute` verbs) → handlers. A test checks every verb in cards/ is here. */
export const verbs = {
  'action.request': requestVerb,
  'action.approve': approveVerb,
  'action.reject': rejectVerb,
  'action.cancel': cancelVerb,
  'action.undo': undoVerb,
  'card.refresh': refreshVerb,
  'digest.open': openFromDigestVerb,
  'digest.show': showDigestVerb,
  'incident.assign': assignVerb,
  'incident.comment': commentVerb,
  'incident.close': closeVerb,
  'page.ack': acknowledgeVerb,
  'page.snooze': snoozeVerb,
  'page.reassign': reassignVerb,
  'case.open': openCaseVerb,
} satisfies Record<Verb, VerbHandler>;

/**
 * Who may click each button, checked before its handler runs (the action service then checks the
 * kind's requesters and approvers). A verb without a gate does not compile.
 */
export const verbGates = {
  'action.request': { access: 'staff', what: 'request actions' },
  'action.approve': { access: 'staff', what: 'decide on action requests' },
  'action.reject': { access: 'staff', what: 'decide on action requests' },
  'action.cancel': { access: 'staff', what: 'cancel action requests' },
  'action.undo': { access: 'staff', what: 'undo actions' },
  'card.refresh': { access: 'staff', what: 'see incident and action cards' },
  'digest.open': { access: 'staff', what: 'read incidents' },
  'digest.show': { access: 'staff', what: 'read incidents' },
  'incident.assign': { access: 'responder', what: 'assign incidents' },
  'incident.comment': { access: 'responder', what: 'comment on incidents' },
  'incident.close': { access: 'responder', what: 'close incidents' },
  'page.ack': { access: 'oncall', what: 'acknowledge pages' },
  'page.snooze': { access: 'oncall', what: 'snooze pages' },
  'page.reassign': { access: 'oncall', what: 'reassign pages' },
  'case.open': { access: 'responder', what: 'open tickets' },
} satisfies Record<Verb, Gate>;

export const verbHandler = (verb: unknown): VerbHandler | undefined => (typeof verb === 'string' && Object.hasOwn(verbs, verb) ? verbs[verb as Verb] : undefined);
