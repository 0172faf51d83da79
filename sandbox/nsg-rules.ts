import crypto from 'node:crypto';
import type { Route } from './stand-in';

interface Rule {
  name: string;
  etag: string;
  properties: Record<string, unknown>;
}

interface Operation {
  status: 'InProgress' | 'Succeeded' | 'Failed';
  pollsLeft: number;
  name: string;
}

/** A rule being deleted: gone once its `Location` has been polled to the end. */
interface Deletion {
  key: string;
  pollsLeft: number;
}

const NSG = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Network/networkSecurityGroups/:nsg';
const etag = () => `W/"${crypto.randomUUID()}"`;
const PROTOCOLS = ['Tcp', 'Udp', 'Icmp', 'Esp', '*', 'Ah'];
const DIRECTIONS = ['Inbound', 'Outbound'];

/**
 * Security rules of network security groups, as the Network RP serves them: every request needs
 * `api-version` and an NSG that exists; every write needs the rule's current etag (`If-Match`;
 * `If-None-Match: *` to create) or gets 412, and is refused with 400 for a priority outside
 * 100–4096, an unknown protocol or direction, or a priority another rule of the NSG already has in
 * that direction. A PUT is a long-running operation — 201/200 with `Azure-AsyncOperation` to poll
 * until `Succeeded`; a DELETE answers 202 with only `Location`, polled until it stops answering
 * 202 (the rule is gone only then). `failNextOperation` makes the next PUT's operation end in `Failed`.
 */
export function createNsgRuleRoutes(baseUrl: () => string, o: { pollsPerOperation?: number; nsgs: string[] }) {
  const rules = new Map<string, Rule>();
  const operations = new Map<string, Operation>();
  const deletions = new Map<string, Deletion>();
  const control = { failNextOperation: false };
  const key = (p: Record<string, string>) => `${p.nsg}/${p.rule}`.toLowerCase();
  const resource = (p: Record<string, string>, r: Rule) => ({
    name: r.name,
    id: `/subscriptions/${p.sub}/resourceGroups/${p.rg}/providers/Microsoft.Network/networkSecurityGroups/${p.nsg}/securityRules/${r.name}`,
    etag: r.etag,
    type: 'Microsoft.Network/networkSecurityGroups/securityRules',
    properties: r.properties,
  });
  const error = (status: number, code: string, message: string) => ({ status, body: { error: { code, message } } });
  /** What ARM answers before looking at the rule: no api-version, or no such NSG. */
  const refused = (p: Record<string, string>, query: Record<string, string>) => {
    if (!query['api-version']) return error(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
    if (!o.nsgs.some((n) => n.toLowerCase() === p.nsg!.toLowerCase())) {
      return error(404, 'ResourceNotFound', `The Resource 'Microsoft.Network/networkSecurityGroups/${p.nsg}' under resource group '${p.rg}' was not found.`);
    }
    return undefined;
  };
  /** Why the Network RP would refuse these rule properties, as its 400 says it. */
  const invalid = (p: Record<string, string>, props: Record<string, unknown>) => {
    for (const required of ['protocol', 'access', 'priority', 'direction']) {
      if (props[required] === undefined) return error(400, 'InvalidRequestFormat', `Cannot parse the request: ${required} is required.`);
    }
    const priority = props.priority;
    if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 100 || priority > 4096) {
      return error(400, 'SecurityRuleInvalidPriority', `Security rule has invalid Priority. Value provided: ${String(priority)} Allowed range 100-4096.`);
    }
    if (!PROTOCOLS.includes(props.protocol as string))
      return error(400, 'SecurityRuleInvalidProtocol', `Security rule has invalid Protocol. Value provided: ${String(props.protocol)}. Allowed values: ${PROTOCOLS.join(', ')}.`);
    if (!DIRECTIONS.includes(props.direction as string)) return error(400, 'SecurityRuleInvalidDirection', `Security rule has invalid Direction. Value provided: ${String(props.direction)}.`);
    const clash = [...rules.entries()].find(([k, r]) => k.startsWith(`${p.nsg!.toLowerCase()}/`) && k !== key(p) && r.properties.priority === priority && r.properties.direction === props.direction);
    if (clash) return error(400, 'SecurityRuleConflict', `Security rule ${clash[1].name} conflicts with rule ${p.rule}. Rules cannot have the same Priority and Direction.`);
    return undefined;
  };
  const routes: Route[] = [
    {
      method: 'GET',
      path: `${NSG}/securityRules/:rule`,
      handle: ({ params, query }) => {
        const bad = refused(params, query);
        if (bad) return bad;
        const r = rules.get(key(params));
        return r ? { status: 200, body: resource(params, r) } : error(404, 'NotFound', `Resource ${params.rule} not found.`);
      },
    },
    {
      method: 'PUT',
      path: `${NSG}/securityRules/:rule`,
      handle: ({ params, query, headers, body }) => {
        const bad = refused(params, query);
        if (bad) return bad;
        const existing = rules.get(key(params));
        const ifMatch = headers['if-match'];
        const ifNoneMatch = headers['if-none-match'];
        if (ifNoneMatch === '*' && existing) return error(412, 'PreconditionFailed', 'The rule already exists.');
        if (ifMatch && (!existing || ifMatch !== existing.etag)) return error(412, 'PreconditionFailed', 'The etag does not match: another writer changed the rule.');
        const props = ((body ?? {}) as { properties?: Record<string, unknown> }).properties ?? {};
        const problem = invalid(params, props);
        if (problem) return problem;
        const op: Operation = { status: 'InProgress', pollsLeft: o.pollsPerOperation ?? 1, name: crypto.randomUUID() };
        if (control.failNextOperation) {
          control.failNextOperation = false;
          op.status = 'Failed';
          op.pollsLeft = 0;
        } else {
          rules.set(key(params), { name: params.rule!, etag: etag(), properties: { ...props, provisioningState: 'Succeeded' } });
        }
        operations.set(op.name, op);
        const saved = rules.get(key(params));
        return {
          status: existing ? 200 : 201,
          headers: {
            'azure-asyncoperation': `${baseUrl()}/subscriptions/${params.sub}/providers/Microsoft.Network/locations/westeurope/operations/${op.name}?api-version=2024-07-01`,
            'retry-after': '0',
          },
          body: saved ? resource(params, { ...saved, properties: { ...saved.properties, provisioningState: 'Updating' } }) : undefined,
        };
      },
    },
    {
      method: 'DELETE',
      path: `${NSG}/securityRules/:rule`,
      handle: ({ params, query, headers }) => {
        const bad = refused(params, query);
        if (bad) return bad;
        const existing = rules.get(key(params));
        if (!existing) return { status: 204 };
        const ifMatch = headers['if-match'];
        if (ifMatch && ifMatch !== '*' && ifMatch !== existing.etag) return error(412, 'PreconditionFailed', 'The etag does not match: another writer changed the rule.');
        existing.properties = { ...existing.properties, provisioningState: 'Deleting' };
        const name = crypto.randomUUID();
        deletions.set(name, { key: key(params), pollsLeft: o.pollsPerOperation ?? 1 });
        return {
          status: 202,
          headers: { location: `${baseUrl()}/subscriptions/${params.sub}/providers/Microsoft.Network/locations/westeurope/operationResults/${name}?api-version=2024-07-01`, 'retry-after': '0' },
        };
      },
    },
    {
      method: 'GET',
      path: '/subscriptions/:sub/providers/Microsoft.Network/locations/:location/operationResults/:op',
      handle: ({ params }) => {
        const d = deletions.get(params.op!);
        if (!d) return error(404, 'NotFound', 'Operation not found.');
        if (d.pollsLeft-- > 0)
          return {
            status: 202,
            headers: {
              location: `${baseUrl()}/subscriptions/${params.sub}/providers/Microsoft.Network/locations/${params.location}/operationResults/${params.op}?api-version=2024-07-01`,
              'retry-after': '0',
            },
          };
        rules.delete(d.key);
        deletions.delete(params.op!);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/subscriptions/:sub/providers/Microsoft.Network/locations/:location/operations/:op',
      handle: ({ params }) => {
        const op = operations.get(params.op!);
        if (!op) return error(404, 'NotFound', 'Operation not found.');
        if (op.status === 'InProgress' && op.pollsLeft-- <= 0) op.status = 'Succeeded';
        const body: Record<string, unknown> = { name: op.name, status: op.status, startTime: new Date().toISOString() };
        if (op.status === 'Failed') body.error = { code: 'InternalServerError', message: 'The operation failed on purpose (sandbox).' };
        const headers: Record<string, string> = op.status === 'InProgress' ? { 'retry-after': '0' } : {};
        return { status: 200, headers, body };
      },
    },
  ];
  return { routes, rules, control };
}
