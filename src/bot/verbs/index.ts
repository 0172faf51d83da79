import { approveVerb, cancelVerb, refreshVerb, rejectVerb, requestVerb, undoVerb } from './action-verbs';
import { assignVerb, closeVerb, commentVerb } from './incident-verbs';
import { openFromDigestVerb, showDigestVerb } from './digest-verbs';
import { acknowledgeVerb } from './page-verbs';
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
  | 'page.ack';

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
} satisfies Record<Verb, VerbHandler>;

export const verbHandler = (verb: unknown): VerbHandler | undefined => (typeof verb === 'string' && Object.hasOwn(verbs, verb) ? verbs[verb as Verb] : undefined);
