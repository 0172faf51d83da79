/** What Vigil can do about an entity, and the target each works on. */
export type ActionKind = 'block-ip' | 'isolate-vm' | 'disable-user' | 'block-hash' | 'add-indicator';

export type ActionTarget =
  | { kind: 'block-ip'; ip: string }
  | {
      kind: 'isolate-vm';
      host: string;
      /** The Azure VM's ARM id, resolved when the action is requested. */
      vmId?: string;
    }
  | { kind: 'disable-user'; user: string }
  | { kind: 'block-hash'; hash: string; algorithm: 'SHA256' | 'SHA1' }
  | { kind: 'add-indicator'; indicator: string; type: 'ip' | 'domain' | 'url' | 'hash' };

export const ACTION_LABELS: Record<ActionKind, string> = {
  'block-ip': 'Block IP',
  'isolate-vm': 'Isolate VM',
  'disable-user': 'Disable user',
  'block-hash': 'Block file hash',
  'add-indicator': 'Add to threat intelligence',
};
