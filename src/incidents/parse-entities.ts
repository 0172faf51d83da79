import type { Entity, EntityKind } from './incident';

const MAX_ENTITIES = 100;
const MAX_VALUE_LENGTH = 2048;

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Case-insensitive field lookup: Sentinel's REST entities use camelCase under `properties`,
 * the playbook trigger's flattened entities use PascalCase at the top level.
 */
const field = (raw: Raw, name: string): string | undefined => {
  const props = isObject(raw.properties) ? raw.properties : {};
  for (const source of [props, raw]) {
    for (const [k, v] of Object.entries(source)) {
      if (k.toLowerCase() === name.toLowerCase() && (typeof v === 'string' || typeof v === 'number') && String(v).trim() !== '') {
        return String(v).trim().slice(0, MAX_VALUE_LENGTH);
      }
    }
  }
  return undefined;
};

const details = (raw: Raw, names: string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = field(raw, n);
    if (v !== undefined) out[n] = v;
  }
  return out;
};

interface KindReader {
  kind: EntityKind;
  value: (raw: Raw) => string | undefined;
  details: string[];
}

const accountValue = (raw: Raw): string | undefined => {
  const name = field(raw, 'accountName');
  const suffix = field(raw, 'upnSuffix');
  if (name && suffix) return `${name}@${suffix}`;
  const domain = field(raw, 'ntDomain');
  if (name && domain) return `${domain}\\${name}`;
  return name ?? field(raw, 'aadUserId') ?? field(raw, 'friendlyName');
};

const hostValue = (raw: Raw): string | undefined => {
  const host = field(raw, 'hostName');
  const domain = field(raw, 'dnsDomain');
  if (host && domain && !host.includes('.')) return `${host}.${domain}`;
  return host ?? field(raw, 'netBiosName') ?? field(raw, 'friendlyName');
};

/** Sentinel entity kinds (lower-cased) → how to read them. Kinds not listed become `other`. */
const readers: Record<string, KindReader> = {
  ip: { kind: 'ip', value: (r) => field(r, 'address'), details: ['location'] },
  account: { kind: 'account', value: accountValue, details: ['aadUserId', 'sid', 'ntDomain', 'upnSuffix', 'accountName', 'objectGuid'] },
  host: { kind: 'host', value: hostValue, details: ['hostName', 'dnsDomain', 'azureID', 'omsAgentID', 'osFamily'] },
  filehash: { kind: 'filehash', value: (r) => field(r, 'hashValue') ?? field(r, 'value'), details: ['algorithm'] },
  url: { kind: 'url', value: (r) => field(r, 'url'), details: [] },
  dnsresolution: { kind: 'domain', value: (r) => field(r, 'domainName'), details: [] },
  file: { kind: 'file', value: (r) => field(r, 'fileName') ?? field(r, 'name'), details: ['directory'] },
  process: { kind: 'process', value: (r) => field(r, 'commandLine') ?? field(r, 'processId'), details: ['processId'] },
  mailbox: { kind: 'mailbox', value: (r) => field(r, 'mailboxPrimaryAddress'), details: ['displayName', 'upn'] },
  cloudapplication: { kind: 'cloudapp', value: (r) => field(r, 'appName') ?? field(r, 'name'), details: ['appId'] },
  azureresource: { kind: 'azureresource', value: (r) => field(r, 'resourceId'), details: [] },
};

/** Entity kinds that describe the incident's alerts or bookmarks rather than an indicator. */
const SKIPPED_KINDS = new Set(['securityalert', 'bookmark']);

/**
 * Reads Sentinel entities of either shape into our `Entity`, dropping duplicates (by kind and
 * value, case-insensitively) and anything past the first hundred. Never throws: an entity we
 * cannot read is skipped, because one odd entity must not lose the whole incident.
 */
export function parseEntities(rawEntities: unknown[]): Entity[] {
  const seen = new Set<string>();
  const out: Entity[] = [];
  for (const raw of rawEntities) {
    if (!isObject(raw) || out.length >= MAX_ENTITIES) continue;
    const kindName = (field(raw, 'kind') ?? field(raw, 'type') ?? '').toLowerCase();
    if (SKIPPED_KINDS.has(kindName)) continue;
    const reader = readers[kindName];
    const value = reader ? reader.value(raw) : field(raw, 'friendlyName');
    if (!value) continue;
    const kind = reader?.kind ?? 'other';
    const dedupe = `${kind}:${value.toLowerCase()}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    out.push({ kind, value, details: reader ? details(raw, reader.details) : { kind: kindName } });
  }
  return out;
}
