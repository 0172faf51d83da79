import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { parseYamlConfig, readConfigFile } from '../yaml-config';
import { ACTION_KINDS, ACTION_LABELS, type ActionKind } from './action-kinds';
import type { ApprovalPolicy, KindPolicy } from './approval-policy';
import { findInvisible } from './canonical-target';
import type { Guardrails } from './guardrails';
import { isGuid } from '../ids';

const asRange = (v: string) => (v.includes('/') ? v : `${v}/${ipaddr.parse(v).kind() === 'ipv4' ? 32 : 128}`);

const guid = z.string().refine(isGuid, 'must be an Entra object id (a GUID)');
const cidr = z.string().refine((v) => ipaddr.isValidCIDR(v) || ipaddr.isValid(v), 'must be an IP address or a CIDR range');

/**
 * The documentation ranges (RFC 5737, RFC 3849), where the sandbox's demo attackers live. Only
 * these may be treated as public: a policy that could exempt 10.0.0.0/8 would switch off the guardrail.
 */
const DOCUMENTATION_RANGES = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'];
const insideDocumentationRanges = (v: string) => {
  const [net, bits] = ipaddr.parseCIDR(asRange(v));
  return DOCUMENTATION_RANGES.some((r) => {
    const [doc, docBits] = ipaddr.parseCIDR(r);
    return doc.kind() === net.kind() && bits >= docBits && net.match([doc, docBits] as [typeof net, number]);
  });
};
const documentationRange = cidr.refine(
  (v) => !(ipaddr.isValidCIDR(v) || ipaddr.isValid(v)) || insideDocumentationRanges(v),
  `only the documentation ranges (${DOCUMENTATION_RANGES.join(', ')}) may be treated as public`,
);

/** A protected name: read in NFKC, and never one holding a character nobody can see (it would protect nothing). */
const protectedName = z
  .string()
  .trim()
  .min(1)
  .refine((v) => findInvisible(v) === undefined, { error: (issue) => `holds a character nobody can see (${findInvisible(issue.input as string)?.name}); write the name without it` })
  .transform((v) => v.normalize('NFKC'));

const people = z.object({ groups: z.array(guid).default([]), users: z.array(guid).default([]) }).strict();

const kindSettings = z
  .object({
    requesters: people.optional(),
    approvers: people.optional(),
    approvals: z.number().int().min(0).max(5).optional(),
    expiresAfterMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .optional(),
  })
  .strict();

const policySchema = z
  .object({
    defaults: kindSettings.default({}),
    kinds: z
      .object(Object.fromEntries(ACTION_KINDS.map((k) => [k, kindSettings.optional()])) as Record<ActionKind, z.ZodOptional<typeof kindSettings>>)
      .strict()
      .default({}),
    guardrails: z
      .object({
        ownRanges: z.array(cidr).default([]),
        protectedAccounts: z.array(protectedName).default([]),
        protectedVms: z.array(protectedName).default([]),
        maxActionsPerHour: z.number().int().min(1).max(100_000).default(20),
        treatAsPublic: z.array(documentationRange).default([]),
      })
      .strict()
      .default({ ownRanges: [], protectedAccounts: [], protectedVms: [], maxActionsPerHour: 20, treatAsPublic: [] }),
  })
  .strict();

export interface ActionPolicy {
  kinds: ApprovalPolicy;
  guardrails: Guardrails;
}

/**
 * Reads who may request and approve each kind of action, how many approvals each needs, how long
 * a request stays open, and the guardrails. Each kind takes `defaults` and overrides what it sets.
 * Nothing defaults to open: a kind nobody may request is switched off, and a kind that needs
 * approvals but names no approver is an error, so a typo cannot leave a request nobody can approve.
 */
export function parseActionPolicy(text: string, source = 'the action policy'): ActionPolicy {
  const data = parseYamlConfig(text, source, policySchema, (d, where) => {
    const problems: string[] = [];
    for (const kind of ACTION_KINDS) {
      const k = { ...d.defaults, ...d.kinds[kind] };
      const requesters = (k.requesters?.groups.length ?? 0) + (k.requesters?.users.length ?? 0);
      const approvers = (k.approvers?.groups.length ?? 0) + (k.approvers?.users.length ?? 0);
      if (requesters > 0 && (k.approvals ?? 1) > 0 && approvers === 0) {
        problems.push(
          `${where(d.kinds[kind] ? ['kinds', kind] : ['defaults'])}: ${ACTION_LABELS[kind]} needs approvals but names no approvers (approvers.groups or approvers.users), or set approvals: 0`,
        );
      }
    }
    return problems;
  });
  const kinds = Object.fromEntries(
    ACTION_KINDS.map((kind): [ActionKind, KindPolicy] => {
      const k = { ...data.defaults, ...data.kinds[kind] };
      return [
        kind,
        {
          requesterGroups: k.requesters?.groups ?? [],
          requesterUsers: k.requesters?.users ?? [],
          approverGroups: k.approvers?.groups ?? [],
          approverUsers: k.approvers?.users ?? [],
          approvals: k.approvals ?? 1,
          expiresAfterMinutes: k.expiresAfterMinutes ?? 60,
        },
      ];
    }),
  ) as ApprovalPolicy;
  const g = data.guardrails;
  return { kinds, guardrails: { ...g, ownRanges: g.ownRanges.map(asRange), treatAsPublic: g.treatAsPublic.map(asRange) } };
}

export const loadActionPolicy = (path: string): ActionPolicy => parseActionPolicy(readConfigFile('VIGIL_ACTION_POLICY_FILE', path), path);
