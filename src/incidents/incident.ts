/** Vigil's one incident type: what every ingest path (webhook, poller, REST) parses into. */

export const SEVERITIES = ['High', 'Medium', 'Low', 'Informational'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const STATUSES = ['New', 'Active', 'Closed'] as const;
export type Status = (typeof STATUSES)[number];

export type EntityKind = 'ip' | 'account' | 'host' | 'filehash' | 'url' | 'domain' | 'file' | 'process' | 'mailbox' | 'cloudapp' | 'azureresource' | 'other';

export interface Entity {
  kind: EntityKind;
  /** The indicator itself: an address, a UPN or account name, a host name, a hash, a URL. */
  value: string;
  /** Extra facts Sentinel sent with the entity (algorithm, object id, domain…), as strings. */
  details: Record<string, string>;
}

export interface Owner {
  name?: string;
  upn?: string;
  email?: string;
  objectId?: string;
}

export interface Incident {
  /** The incident's ARM id as Sentinel spells it; `key` is the lower-cased form we store by. */
  id: string;
  key: string;
  number: number;
  title: string;
  description: string;
  severity: Severity;
  status: Status;
  classification?: string;
  owner?: Owner;
  createdAt: string;
  lastModifiedAt?: string;
  firstActivityAt?: string;
  lastActivityAt?: string;
  etag?: string;
  /** A portal link we built or checked ourselves, never one taken unchecked from the payload. */
  url: string;
  labels: string[];
  products: string[];
  tactics: string[];
  techniques: string[];
  alertCount: number;
  ruleIds: string[];
  entities: Entity[];
}
