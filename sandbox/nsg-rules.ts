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

const NSG = '/subscriptions/:sub/resourceGroups/:rg/providers/Microsoft.Network/networkSecurityGroups/:nsg';
const etag = () => `W/"${crypto.randomUUID()}"`;

/**
 * Security rules of network security groups, as the Network RP serves them: every write needs the
 * rule's current etag (`If-Match`; `If-None-Match: *` to create) or gets 412, and is a long-running
 * operation — 201/200 with `Azure-AsyncOperation` to poll until `Succeeded`. `failNextOperation`
 * makes the next write's operation end in `Failed`.
 */
export function createNsgRuleRoutes(baseUrl: () => string, o: { pollsPerOperation?: number } = {}) {
  const rules = new Map<string, Rule>();
  const operations = new Map<string, Operation>();
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
  const routes: Route[] = [
    {
      method: 'GET',
      path: `${NSG}/securityRules/:rule`,
      handle: ({ params }) => {
        const r = rules.get(key(params));
        return r ? { status: 200, body: resource(params, r) } : error(404, 'NotFound', `Resource ${params.rule} not found.`);
      },
    },
    {
      method: 'PUT',
      path: `${NSG}/securityRules/:rule`,
      handle: ({ params, headers, body }) => {
        const existing = rules.get(key(params));
        const ifMatch = headers['if-match'];
        const ifNoneMatch = headers['if-none-match'];
        if (ifNoneMatch === '*' && existing) return error(412, 'PreconditionFailed', 'The rule already exists.');
        if (ifMatch && (!existing || ifMatch !== existing.etag)) return error(412, 'PreconditionFailed', 'The etag does not match: another writer changed the rule.');
        const props = ((body ?? {}) as { properties?: Record<string, unknown> }).properties ?? {};
        for (const required of ['protocol', 'access', 'priority', 'direction']) {
          if (props[required] === undefined) return error(400, 'InvalidRequestFormat', `Cannot parse the request: ${required} is required.`);
        }
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
          headers: { 'azure-asyncoperation': `${baseUrl()}/subscriptions/${params.sub}/providers/Microsoft.Network/locations/westeurope/operations/${op.name}?api-version=2024-07-01`, 'retry-after': '0' },
          body: saved ? resource(params, { ...saved, properties: { ...saved.properties, provisioningState: 'Updating' } }) : undefined,
        };
      },
    },
    {
      method: 'DELETE',
      path: `${NSG}/securityRules/:rule`,
      handle: ({ params, headers }) => {
        const existing = rules.get(key(params));
        if (!existing) return { status: 204 };
        const ifMatch = headers['if-match'];
        if (ifMatch && ifMatch !== '*' && ifMatch !== existing.etag) return error(412, 'PreconditionFailed', 'The etag does not match: another writer changed the rule.');
        rules.delete(key(params));
        return { status: 200 };
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
