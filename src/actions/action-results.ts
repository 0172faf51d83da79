import type { ActionKind } from './action-kinds';
import type { PreviousNsgs } from './executors/vm-isolate';

/** What each kind's executor answers when it has acted: recorded on the action, read back by its Undo. */
export interface ActionResults {
  'block-ip': { changed: boolean; rules: string[] };
  'isolate-vm': { method: 'defender'; machineId: string; machineActionId: string; vmId?: string } | { method: 'nsg'; vmId: string; nics: string[]; previousNsgId: PreviousNsgs; changed: boolean };
  'disable-user': { revoked: boolean };
  'block-hash': { indicatorId: string };
  'add-indicator': { name: string; foundFromEarlierAttempt?: boolean };
}

/** What each kind's Undo answers. */
export interface UndoResults {
  'block-ip': { changed: boolean; rules: string[] };
  'isolate-vm': { machineActionId: string } | { nics: string[] };
  'disable-user': { enabled: true };
  'block-hash': { removed: boolean };
  'add-indicator': { removed: boolean; names: string[] };
}

export type ActionResult = ActionResults[ActionKind] | UndoResults[ActionKind];

/** How a failed action ended, in words the card and the Sentinel comment show. */
export interface ActionFailure {
  error: string;
}
