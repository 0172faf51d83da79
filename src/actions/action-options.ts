import crypto from 'node:crypto';
import ipaddr from 'ipaddr.js';
import type { IncidentEnrichment } from '../enrichment/summarize';
import type { Entity, Incident } from '../incidents/incident';
import { targetKey, type ActionTarget } from './action-kinds';
import { isGuid, isUpn } from '../ids';

/** One thing the card offers to do about one of the incident's entities. */
export interface ActionOption {
  /** Opaque: what a button carries instead of the target, looked up again in the store on click. */
  id: string;
  target: ActionTarget;
  entity: Entity;
  /** The option the recommendation favours, marked on the card. */
  recommended: boolean;
}

const MAX_ENTITIES_WITH_OPTIONS = 6;
const HASH_ALGORITHM: Record<number, 'SHA1' | 'SHA256'> = { 40: 'SHA1', 64: 'SHA256' };

/** An account Graph can find: its Entra object id when Sentinel sent one, else a UPN. */
const userOf = (e: Entity): string | undefined => {
  const id = e.details.aadUserId;
  if (id && isGuid(id)) return id.toLowerCase();
  return isUpn(e.value) ? e.value : undefined;
};

/** What fits each entity kind; containment first, threat intelligence second. */
const targetsFor = (e: Entity): ActionTarget[] => {
  const value = e.value.trim();
  switch (e.kind) {
    case 'ip':
      return ipaddr.isValid(value)
        ? [
            { kind: 'block-ip', ip: value },
            { kind: 'add-indicator', indicator: value, type: 'ip' },
          ]
        : [];
    case 'host':
      return [{ kind: 'isolate-vm', host: value, ...(e.details.azureID ? { azureId: e.details.azureID } : {}) }];
    case 'account': {
      const user = userOf(e);
      return user ? [{ kind: 'disable-user', user }] : [];
    }
    case 'filehash': {
      const algorithm = /^[a-f0-9]+$/i.test(value) ? HASH_ALGORITHM[value.length] : undefined;
      return algorithm
        ? [
            { kind: 'block-hash', hash: value.toLowerCase(), algorithm },
            { kind: 'add-indicator', indicator: value.toLowerCase(), type: 'hash' },
          ]
        : [];
    }
    case 'url':
      return [{ kind: 'add-indicator', indicator: value, type: 'url' }];
    case 'domain':
      return [{ kind: 'add-indicator', indicator: value, type: 'domain' }];
    default:
      return [];
  }
};

export const optionId = (incidentKey: string, target: ActionTarget): string =>
  crypto
    .createHash('sha256')
    .update(`${incidentKey}|${targetKey(target)}`)
    .digest('base64url')
    .slice(0, 16);

/**
 * The actions the incident card offers, per entity. BLOCK IMMEDIATELY favours containing the
 * riskiest entity; INVESTIGATE favours sharing it with threat intelligence; MONITOR favours none.
 * Pure: the same incident gives the same ids, so a click finds its option again.
 */
export function actionOptions(incident: Incident, enrichment?: Pick<IncidentEnrichment, 'entities' | 'recommendation'>): ActionOption[] {
  const scored = (enrichment?.entities ?? []).filter((x) => x.score !== undefined).sort((a, b) => b.score! - a.score!);
  const riskiest = scored[0]?.entity;
  const favoured = enrichment?.recommendation === 'BLOCK_IMMEDIATELY' ? 'contain' : enrichment?.recommendation === 'INVESTIGATE' ? 'share' : undefined;
  const options: ActionOption[] = [];
  let entities = 0;
  for (const entity of incident.entities) {
    const targets = targetsFor(entity);
    if (targets.length === 0) continue;
    if (++entities > MAX_ENTITIES_WITH_OPTIONS) break;
    const isRiskiest = riskiest !== undefined && riskiest.kind === entity.kind && riskiest.value === entity.value;
    targets.forEach((target, n) => {
      const recommended = isRiskiest && ((favoured === 'contain' && n === 0 && target.kind !== 'add-indicator') || (favoured === 'share' && target.kind === 'add-indicator'));
      options.push({ id: optionId(incident.key, target), target, entity, recommended });
    });
  }
  return options;
}
