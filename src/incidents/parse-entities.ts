import type { Entity, EntityKind } from './incident';

/** A bound against abuse, well above what a real incident carries (cards show a few and say how many more). */
const MAX_ENTITIES = 500;
const MAX_VALUE_LENGTH = 2048;
/** How deep a SecurityAlert entity nests others (a process's image file's hashes is 3). */
const MAX_NESTING = 6;

type Raw = Record<string, unknown>;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The two shapes Sentinel writes entities in:
 * - SecurityInsights REST (incident `relatedEntities`, the entities API): `kind` and camelCase `properties`;
 * - the alert schema (SecurityAlert's `Entities` column, alert payloads): flat PascalCase with `Type`,
 *   `$id`, and `$ref` pointing at an entity given earlier in the same list.
 */
const isAlertShaped = (raw: Raw) => !isObject(raw.properties);

/** Case-insensitive lookup of a string or number, trimmed and bounded; REST entities keep theirs under `properties`. */
const field = (raw: Raw, name: string): string | undefined => {
  const source = isObject(raw.properties) ? raw.properties : raw;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(source)) {
    if (k.toLowerCase() !== wanted) continue;
    if ((typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) && String(v).trim() !== '') {
      return String(v).trim().slice(0, MAX_VALUE_LENGTH);
    }
  }
  return undefined;
};

/** The alert schema's `Name` means an account's, a file's or an app's name; on a REST entity `name` is the resource's. */
const alertName = (raw: Raw) => (isAlertShaped(raw) ? field(raw, 'name') : undefined);

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
  /** Extra details that are not a plain field lookup. */
  extra?: (raw: Raw) => Record<string, string>;
}

const accountValue = (raw: Raw): string | undefined => {
  const name = field(raw, 'accountName') ?? alertName(raw);
  const suffix = field(raw, 'upnSuffix');
  if (name && suffix && !name.includes('@')) return `${name}@${suffix}`;
  const domain = field(raw, 'ntDomain');
  if (name && domain && !name.includes('\\')) return `${domain}\\${name}`;
  return name ?? field(raw, 'aadUserId') ?? field(raw, 'sid') ?? field(raw, 'friendlyName');
};

const hostValue = (raw: Raw): string | undefined => {
  const host = field(raw, 'hostName');
  const domain = field(raw, 'dnsDomain');
  if (host && domain && !host.includes('.')) return `${host}.${domain}`;
  return host ?? field(raw, 'netBiosName') ?? field(raw, 'azureID') ?? field(raw, 'friendlyName');
};

/** The account's own name, kept for guardrails and look-ups when the value is a UPN or DOMAIN\name. */
const accountExtra = (raw: Raw): Record<string, string> => {
  const name = !field(raw, 'accountName') ? alertName(raw) : undefined;
  return name ? { accountName: name } : {};
};

/** Sentinel entity kinds (lower-cased, dashes removed) → how to read them. Kinds not listed become `other`. */
const readers: Record<string, KindReader> = {
  ip: { kind: 'ip', value: (r) => field(r, 'address'), details: ['location'] },
  account: {
    kind: 'account',
    value: accountValue,
    details: ['aadUserId', 'aadTenantId', 'sid', 'ntDomain', 'upnSuffix', 'accountName', 'objectGuid', 'displayName'],
    extra: accountExtra,
  },
  host: { kind: 'host', value: hostValue, details: ['hostName', 'dnsDomain', 'netBiosName', 'azureID', 'omsAgentID', 'osFamily'] },
  filehash: { kind: 'filehash', value: (r) => field(r, 'hashValue') ?? field(r, 'value'), details: ['algorithm'] },
  url: { kind: 'url', value: (r) => field(r, 'url'), details: [] },
  dnsresolution: { kind: 'domain', value: (r) => field(r, 'domainName'), details: [] },
  file: { kind: 'file', value: (r) => field(r, 'fileName') ?? alertName(r), details: ['directory'] },
  process: { kind: 'process', value: (r) => field(r, 'commandLine') ?? field(r, 'processId'), details: ['processId'] },
  mailbox: { kind: 'mailbox', value: (r) => field(r, 'mailboxPrimaryAddress'), details: ['displayName', 'upn'] },
  cloudapplication: { kind: 'cloudapp', value: (r) => field(r, 'appName') ?? alertName(r) ?? field(r, 'instanceName'), details: ['appId'] },
  azureresource: { kind: 'azureresource', value: (r) => field(r, 'resourceId'), details: [] },
};

/** The alert schema's names for kinds whose REST name differs. */
const ALERT_KIND_ALIASES: Record<string, string> = { dns: 'dnsresolution' };

/** An own string property, matched case-insensitively. */
const own = (raw: Raw, name: string): string | undefined => {
  for (const [k, v] of Object.entries(raw)) {
    if (k.toLowerCase() === name && typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return undefined;
};

/** A REST entity's `type` is its resource type (`Microsoft.SecurityInsights/Entities`), not its kind. */
const isResourceType = (s: string) => s.toLowerCase().startsWith('microsoft.');

/** `kind` beside `properties` (REST) or `Type` at the top (alert schema), lower-cased, dashes removed. */
const kindOf = (raw: Raw): string | undefined => {
  const kind = own(raw, 'kind');
  const type = own(raw, 'type');
  const name = kind ?? (type && !isResourceType(type) ? type : undefined);
  if (!name) return undefined;
  const normal = name.toLowerCase().replace(/-/g, '');
  return ALERT_KIND_ALIASES[normal] ?? normal;
};

/** Entity kinds that describe the incident's alerts or bookmarks rather than an indicator. */
const SKIPPED_KINDS = new Set(['securityalert', 'bookmark']);

/** `impliedKind`: a file's `FileHashes` entries are hashes even where they do not say so. */
const readOne = (raw: Raw, impliedKind?: string): Entity | undefined => {
  const kindName = kindOf(raw) ?? impliedKind;
  if (!kindName || SKIPPED_KINDS.has(kindName)) return undefined;
  const reader = readers[kindName];
  const value = reader ? reader.value(raw) : (field(raw, 'friendlyName') ?? alertName(raw));
  if (!value) return undefined;
  return {
    kind: reader?.kind ?? 'other',
    value,
    details: reader ? { ...details(raw, reader.details), ...reader.extra?.(raw) } : { kind: kindName },
  };
};

/** `#microsoft.graph.security.ipEvidence` → `ip`: Graph's alert evidence names its type in `@odata.type`. */
const GRAPH_EVIDENCE = /^#?microsoft\.graph\.security\.(\w{1,60})Evidence$/i;

const graphEvidenceType = (raw: Raw): string | undefined => {
  const t = raw['@odata.type'];
  return typeof t === 'string' ? GRAPH_EVIDENCE.exec(t.trim())?.[1]?.toLowerCase() : undefined;
};

/** A nested object of Graph evidence (a process's `imageFile`, a user's `userAccount`), or an empty one. */
const nested = (raw: Raw, name: string): Raw => (isObject(raw[name]) ? raw[name] : {});

const entity = (kind: EntityKind, value: string | undefined, d: Record<string, string | undefined>): Entity[] =>
  value ? [{ kind, value, details: Object.fromEntries(Object.entries(d).filter((e): e is [string, string] => e[1] !== undefined)) }] : [];

/** Graph's `userAccount` as an account entity, with the details Sentinel's account carries (`aadUserId` disables it). */
const graphAccount = (a: Raw): Entity[] => {
  const name = field(a, 'accountName');
  const domain = field(a, 'domainName');
  const value = field(a, 'userPrincipalName') ?? (name && domain && !name.includes('\\') ? `${domain}\\${name}` : name) ?? field(a, 'azureAdUserId') ?? field(a, 'userSid');
  return entity('account', value, { aadUserId: field(a, 'azureAdUserId'), sid: field(a, 'userSid'), ntDomain: domain, accountName: name, displayName: field(a, 'displayName') });
};

/** Graph's `fileDetails` as a file entity and its hashes. */
const graphFile = (f: Raw): Entity[] => [
  ...entity('file', field(f, 'fileName'), { directory: field(f, 'filePath') }),
  ...entity('filehash', field(f, 'sha256'), { algorithm: 'SHA256' }),
  ...entity('filehash', field(f, 'sha1'), { algorithm: 'SHA1' }),
];

/** Graph evidence types (lower-cased, without "Evidence") → our entities; other types become `other` when they name something. */
const graphReaders: Record<string, (raw: Raw) => Entity[]> = {
  ip: (r) => entity('ip', field(r, 'ipAddress'), { location: field(r, 'countryLetterCode') }),
  user: (r) => graphAccount(nested(r, 'userAccount')),
  device: (r) => {
    const vm = nested(r, 'vmMetadata');
    return entity('host', field(r, 'deviceDnsName') ?? field(r, 'mdeDeviceId') ?? field(r, 'azureAdDeviceId'), {
      hostName: field(r, 'deviceDnsName'),
      mdeDeviceId: field(r, 'mdeDeviceId'),
      azureAdDeviceId: field(r, 'azureAdDeviceId'),
      osFamily: field(r, 'osPlatform'),
      azureID: field(vm, 'resourceId'),
    });
  },
  file: (r) => graphFile(nested(r, 'fileDetails')),
  url: (r) => entity('url', field(r, 'url'), {}),
  mailbox: (r) => [...entity('mailbox', field(r, 'primaryAddress'), { displayName: field(r, 'displayName'), upn: field(r, 'upn') }), ...graphAccount(nested(r, 'userAccount'))],
  process: (r) => [
    ...entity('process', field(r, 'processCommandLine') ?? field(r, 'processId'), { processId: field(r, 'processId') }),
    ...graphFile(nested(r, 'imageFile')),
    ...graphAccount(nested(r, 'userAccount')),
  ],
  cloudapplication: (r) =>
    entity('cloudapp', field(r, 'displayName') ?? field(r, 'instanceName') ?? field(r, 'appId'), {
      appId: field(r, 'appId'),
      instanceName: field(r, 'instanceName'),
      saasAppId: field(r, 'saasAppId'),
    }),
};

const readGraphEvidence = (raw: Raw, type: string): Entity[] => {
  const reader = graphReaders[type];
  if (reader) return reader(raw);
  const named = field(raw, 'displayName') ?? field(raw, 'name') ?? [field(raw, 'registryHive'), field(raw, 'registryKey')].filter(Boolean).join('\\');
  return entity('other', named || undefined, { kind: type });
};

/** Every object with a `$id` in the list, at any depth, so `{ "$ref": "3" }` can be followed. */
const indexById = (rawEntities: unknown[]): Map<string, Raw> => {
  const byId = new Map<string, Raw>();
  const visit = (v: unknown, depth: number) => {
    if (depth > MAX_NESTING) return;
    if (Array.isArray(v)) for (const x of v) visit(x, depth + 1);
    else if (isObject(v)) {
      if (typeof v.$id === 'string' && !byId.has(v.$id)) byId.set(v.$id, v);
      for (const x of Object.values(v)) if (typeof x === 'object') visit(x, depth + 1);
    }
  };
  for (const raw of rawEntities) visit(raw, 0);
  return byId;
};

/**
 * Reads Sentinel entities of every shape into our `Entity`: REST `kind` + `properties`, the alert
 * schema (`Type: "account"`, `Name`, `UPNSuffix`, `AadUserId`, `HostName`, `FileHashes`…) with its
 * `$id`/`$ref` references, and the entities an alert-schema entity nests (a process's account,
 * host and image file, a file's hashes). Drops duplicates (by kind and value, case-insensitively)
 * and anything past `MAX_ENTITIES`. Graph's alert evidence (`@odata.type` …ipEvidence, userEvidence,
 * deviceEvidence, fileEvidence, processEvidence, mailboxEvidence, urlEvidence,
 * cloudApplicationEvidence…) is read here too, with what it nests. Never throws: an entity it cannot read is skipped, because one
 * odd entity must not lose the whole incident.
 */
export function parseEntities(rawEntities: unknown[]): Entity[] {
  return parseEntityLists([rawEntities]);
}

/**
 * `parseEntities` over several lists (the incident's, then each alert's), deduplicated across
 * them. A `$ref` is followed only within its own list: every alert numbers its `$id`s from 1.
 */
export function parseEntityLists(lists: unknown[][]): Entity[] {
  const seen = new Set<string>();
  const out: Entity[] = [];
  for (const list of lists) {
    const byId = indexById(list);
    const visited = new Set<Raw>();

    const resolve = (v: unknown): Raw | undefined => {
      if (!isObject(v)) return undefined;
      if (typeof v.$ref === 'string') return byId.get(v.$ref);
      return v;
    };

    const take = (candidate: unknown, depth: number, impliedKind?: string) => {
      const raw = resolve(candidate);
      if (!raw || visited.has(raw) || out.length >= MAX_ENTITIES || depth > MAX_NESTING) return;
      visited.add(raw);
      const keep = (e: Entity) => {
        const dedupe = `${e.kind}:${e.value.toLowerCase()}`;
        if (seen.has(dedupe) || out.length >= MAX_ENTITIES) return;
        seen.add(dedupe);
        out.push(e);
      };
      const graphType = graphEvidenceType(raw);
      if (graphType) {
        for (const e of readGraphEvidence(raw, graphType)) keep(e);
        return;
      }
      const read = readOne(raw, impliedKind);
      if (read) keep(read);
      if (!isAlertShaped(raw)) return;
      // Nested entities of the alert schema: objects (or lists of them) that are entities or references.
      for (const [k, v] of Object.entries(raw)) {
        if (k === '$id' || k === '$ref') continue;
        const implied = k.toLowerCase() === 'filehashes' ? 'filehash' : undefined;
        for (const nested of Array.isArray(v) ? v : [v]) {
          if (isObject(nested) && (typeof nested.$ref === 'string' || kindOf(nested) !== undefined || implied)) take(nested, depth + 1, implied);
        }
      }
    };

    for (const raw of list) take(raw, 0);
  }
  return out;
}
