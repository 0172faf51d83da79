/** What Vigil can do about an entity, and the target each works on. */
export const ACTION_KINDS = ['block-ip', 'isolate-vm', 'disable-user', 'block-hash', 'add-indicator'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

export type IndicatorType = 'ip' | 'domain' | 'url' | 'hash';

export type ActionTarget =
  | { kind: 'block-ip'; ip: string }
  | {
      kind: 'isolate-vm';
      host: string;
      /** The Azure VM's ARM id when Sentinel sent one with the host: a hint for finding it. */
      azureId?: string;
    }
  | {
      kind: 'disable-user';
      /** The account as asked for (UPN or object id); once Graph resolved it, its object id (lower case). */
      user: string;
      /** The account's UPN as Graph has it, once resolved: what people read. */
      upn?: string;
    }
  | { kind: 'block-hash'; hash: string; algorithm: 'SHA256' | 'SHA1' }
  | { kind: 'add-indicator'; indicator: string; type: IndicatorType };

export const ACTION_LABELS: Record<ActionKind, string> = {
  'block-ip': 'Block IP',
  'isolate-vm': 'Isolate VM',
  'disable-user': 'Disable user',
  'block-hash': 'Block file hash',
  'add-indicator': 'Add to threat intelligence',
};

/** What the Undo of each kind is called: it runs through the same approvals. */
export const UNDO_LABELS: Record<ActionKind, string> = {
  'block-ip': 'Unblock IP',
  'isolate-vm': 'Release from isolation',
  'disable-user': 'Re-enable user',
  'block-hash': 'Unblock file hash',
  'add-indicator': 'Remove from threat intelligence',
};

/** The thing acted on, as an analyst names it. Untrusted text: escape before it reaches a card. */
export const targetValue = (t: ActionTarget): string => {
  switch (t.kind) {
    case 'block-ip':
      return t.ip;
    case 'isolate-vm':
      return t.host;
    case 'disable-user':
      return t.upn ?? t.user;
    case 'block-hash':
      return t.hash;
    case 'add-indicator':
      return t.indicator;
  }
};

/**
 * One key per thing acted on (case folded): the store allows one open request per key and
 * incident, so a double click or two analysts asking at once make one request, not two.
 */
export const targetKey = (t: ActionTarget, undo = false): string => `${undo ? 'undo:' : ''}${t.kind}:${(t.kind === 'disable-user' ? t.user : targetValue(t)).trim().toLowerCase()}`;

export const actionTitle = (kind: ActionKind, undo: boolean): string => (undo ? UNDO_LABELS[kind] : ACTION_LABELS[kind]);
