import ipaddr from 'ipaddr.js';
import { armError, NETWORK_API, type ArmClient } from './arm-client';

interface SecurityRule {
  etag?: string;
  properties?: Record<string, unknown>;
}

const DIRECTIONS = [
  { suffix: 'in', direction: 'Inbound', list: 'sourceAddressPrefixes', single: 'sourceAddressPrefix', other: 'destinationAddressPrefix' },
  { suffix: 'out', direction: 'Outbound', list: 'destinationAddressPrefixes', single: 'destinationAddressPrefix', other: 'sourceAddressPrefix' },
] as const;

const MAX_CONFLICTS = 8;

export interface NsgBlocker {
  /** Adds the address to the deny rules (in and out). Idempotent: `changed` false if already there. */
  block(ip: string, signal?: AbortSignal): Promise<{ changed: boolean; rules: string[] }>;
  /** Takes the address out again (the Undo of a block). */
  unblock(ip: string, signal?: AbortSignal): Promise<{ changed: boolean; rules: string[] }>;
}

/**
 * Block IP against one network security group: two deny rules Vigil owns (`<rule>-in` for sources,
 * `<rule>-out` for destinations). Each change reads the rule, adds or removes the address and
 * writes with the rule's etag; a 412 means another writer got there first, so it reads again —
 * concurrent blocks never lose each other's addresses. Each write is followed to its end and read
 * back alongside, so a change that did not stick is made again. The two rules change side by side.
 */
export function createNsgBlocker(o: { arm: ArmClient; nsgId: string; ruleName: string; priority: number }): NsgBlocker {
  /**
   * One rule: read, write with its etag, follow the operation while reading the rule back (the
   * read-back is the next look: it finds our address and stops, or writes it again).
   */
  const changeRule = async (d: (typeof DIRECTIONS)[number], address: string, add: boolean, signal?: AbortSignal): Promise<boolean> => {
    const name = `${o.ruleName}-${d.suffix}`;
    const path = `${o.nsgId}/securityRules/${encodeURIComponent(name)}?api-version=${NETWORK_API}`;
    let changed = false;
    let current = await o.arm.request<SecurityRule>('GET', path, { signal });
    for (let attempt = 1; ; attempt++) {
      const rule = current.status === 404 ? undefined : current.body;
      const props = rule?.properties ?? {};
      const prefixes = [...((props[d.list] as string[] | undefined) ?? []), ...(typeof props[d.single] === 'string' && props[d.single] !== '*' ? [props[d.single] as string] : [])];
      const has = prefixes.includes(address);
      if (has === add) return changed;
      const next = add ? [...prefixes, address] : prefixes.filter((p) => p !== address);
      const write =
        next.length === 0
          ? await o.arm.request('DELETE', path, { headers: { 'if-match': rule!.etag ?? '*' }, signal })
          : await o.arm.request('PUT', path, {
              signal,
              headers: rule?.etag ? { 'if-match': rule.etag } : { 'if-none-match': '*' },
              body: {
                properties: {
                  description: 'Managed by Vigil: addresses blocked from Microsoft Sentinel incidents. Change through Vigil.',
                  protocol: '*',
                  access: 'Deny',
                  direction: d.direction,
                  priority: o.priority,
                  sourcePortRange: '*',
                  destinationPortRange: '*',
                  [d.list]: next,
                  [d.other]: '*',
                },
              },
            });
      if (write.status === 412) {
        if (attempt >= MAX_CONFLICTS) throw armError(412, `${name} kept changing under us (${attempt} tries)`);
        current = await o.arm.request<SecurityRule>('GET', path, { signal });
        continue;
      }
      // Read it back rather than trust the write: whether the Network RP enforces the etag on
      // every rule write is not documented, and a writer that raced us may have put back an old
      // list. ARM shows a rule's new state while its operation runs, so the read-back goes
      // alongside the operation; a deleted rule is gone only at the end, so that one waits.
      const readBack = () => o.arm.request<SecurityRule>('GET', path, { signal });
      if (next.length === 0) {
        await o.arm.waitFor(write, `updating ${name}`, signal);
        current = await readBack();
      } else {
        [, current] = await Promise.all([o.arm.waitFor(write, `updating ${name}`, signal), readBack()]);
      }
      changed = true;
      if (attempt >= MAX_CONFLICTS) throw armError(409, `${name} kept losing the change (${attempt} tries)`);
    }
  };
  const change = async (ip: string, add: boolean, signal?: AbortSignal) => {
    const address = ipaddr.process(ip).toString();
    let changed = false;
    const rules = DIRECTIONS.map((d) => `${o.ruleName}-${d.suffix}`);
    // The inbound and the outbound rule are separate resources: both change side by side.
    await Promise.all(
      DIRECTIONS.map(async (d) => {
        if (await changeRule(d, address, add, signal)) changed = true;
      }),
    );
    return { changed, rules };
  };
  return { block: (ip, signal) => change(ip, true, signal), unblock: (ip, signal) => change(ip, false, signal) };
}
