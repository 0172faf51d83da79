import ipaddr from 'ipaddr.js';
import type { ActionTarget } from './action-kinds';
import { canonicalName, canonicalTarget } from './canonical-target';
import { isSha1OrSha256 } from '../ids';

export interface Guardrails {
  /** Our own address space (offices, VNets, egress IPs): never blocked. CIDR strings. */
  ownRanges: string[];
  /** Break-glass accounts and listed admins: never disabled (UPNs or object ids, any case). */
  protectedAccounts: string[];
  /** VMs never isolated by name (tags are checked by the executor, which reads the VM). */
  protectedVms: string[];
  /** At most this many actions an hour, all kinds together. */
  maxActionsPerHour: number;
  /**
   * Reserved ranges to treat as public anyway: the sandbox's demo attackers live in the RFC 5737
   * documentation ranges. Empty in production.
   */
  treatAsPublic?: string[];
}

export type Verdict = { allowed: true } | { allowed: false; reason: string };

const refuse = (reason: string): Verdict => ({ allowed: false, reason });
const ALLOWED: Verdict = { allowed: true };

/** Address kinds that are never an attacker's public address: blocking them only hurts us. */
const NOT_PUBLIC = new Set([
  'private',
  'loopback',
  'linkLocal',
  'multicast',
  'broadcast',
  'reserved',
  'unspecified',
  'carrierGradeNat',
  'uniqueLocal',
  'ipv4Mapped',
  'rfc6145',
  'rfc6052',
  '6to4',
  'teredo',
  'benchmarking',
  'amt',
  'as112',
  'deprecated',
  'orchid2',
]);

const inRanges = (ip: ipaddr.IPv4 | ipaddr.IPv6, ranges: string[]) =>
  ranges.some((cidr) => {
    const [net, bits] = ipaddr.parseCIDR(cidr);
    return net.kind() === ip.kind() && ip.match([net, bits] as [typeof ip, number]);
  });

/**
 * Whether a target may be acted on at all, whoever approves: a refusal says why, in words an
 * analyst understands. Checked when the action is requested and again before it runs, always on
 * the canonical target (NFKC, no invisible characters: see `canonicalTarget`), and compared with
 * the policy's lists in the same form. An account is protected when its object id or its UPN is
 * listed; a host when its first label is a listed VM's.
 */
export function checkTarget(raw: ActionTarget, g: Guardrails): Verdict {
  const canonical = canonicalTarget(raw);
  if (!canonical.ok) return refuse(canonical.reason);
  const target = canonical.target;
  switch (target.kind) {
    case 'block-ip': {
      if (target.ip.includes('/')) return refuse('Vigil blocks single addresses, not ranges (0.0.0.0/0 would cut everyone off)');
      if (!ipaddr.isValid(target.ip)) return refuse(`"${target.ip.slice(0, 60)}" is not an IP address`);
      const ip = ipaddr.process(target.ip);
      const range = ip.range();
      if (NOT_PUBLIC.has(range) && !inRanges(ip, g.treatAsPublic ?? [])) return refuse(`${ip.toString()} is a ${range} address, not a public one; blocking it would only hurt our own network`);
      if (inRanges(ip, g.ownRanges)) return refuse(`${ip.toString()} is in our own address space`);
      return ALLOWED;
    }
    case 'disable-user': {
      const names = [target.user, target.upn].filter((n): n is string => n !== undefined);
      if (g.protectedAccounts.some((a) => names.includes(canonicalName(a))))
        return refuse(`${target.upn ?? target.user} is a protected account (break-glass or listed admin) and is never disabled by Vigil`);
      return ALLOWED;
    }
    case 'isolate-vm': {
      // By the first label on both sides: an Azure VM's name is its host's first label, and
      // `dc-01` listed protects `dc-01.contoso.example` as `dc-01.contoso.example` listed protects `dc-01`.
      const label = (v: string) => canonicalName(v).split('.')[0]!;
      if (g.protectedVms.some((v) => label(v) === label(target.host))) return refuse(`${target.host} is a protected VM and is never isolated by Vigil`);
      return ALLOWED;
    }
    case 'block-hash':
      return isSha1OrSha256(target.hash) ? ALLOWED : refuse('only SHA-1 and SHA-256 hashes can be blocked');
    case 'add-indicator':
      if (target.type === 'ip') return checkTarget({ kind: 'block-ip', ip: target.indicator }, g);
      return target.indicator.trim() === '' ? refuse('the indicator is empty') : ALLOWED;
  }
}

/** The hourly brake: refuses once `countLastHour` actions already ran or wait. */
export const checkRate = (countLastHour: number, g: Guardrails): Verdict =>
  countLastHour >= g.maxActionsPerHour ? refuse(`${countLastHour} actions in the last hour already; the limit is ${g.maxActionsPerHour}. Ask an admin to raise it if this is a real storm`) : ALLOWED;
