import ipaddr from 'ipaddr.js';
import type { ActionTarget } from '../../actions/action-kinds';
import { invisibleReason } from '../../actions/canonical-target';
import { untrusted } from '../../cards/markdown';
import { parseIndicator } from '../../enrichment/parse-indicator';
import { setActionCard } from '../../store/action-repository';
import type { Command } from '../command';
import { findIncident } from './find-incident';
import { isHostName, isSha1OrSha256, isUserId } from '../../ids';

/** Reads what follows the command word: the target, then optionally `for <incident>`. */
type Parse = (value: string) => ActionTarget | string;

const parsers: Record<'block' | 'isolate' | 'disable' | 'indicator', { usage: string; description: string; parse: Parse }> = {
  block: {
    usage: 'block <ip | hash> [for <number>]',
    description: 'Ask to block an IP address (NSG deny rule) or a file hash (Defender indicator)',
    parse: (v) => {
      const ip = parseIndicator(v);
      if (ip?.kind === 'ip' && ipaddr.isValid(ip.value)) return { kind: 'block-ip', ip: ip.value };
      if (isSha1OrSha256(v)) return { kind: 'block-hash', hash: v.toLowerCase(), algorithm: v.length === 64 ? 'SHA256' : 'SHA1' };
      return 'Give one IP address or a SHA-1/SHA-256 hash, for example `block 203.0.113.7`.';
    },
  },
  isolate: {
    usage: 'isolate <host> [for <number>]',
    description: 'Ask to isolate a host (Defender for Endpoint, or the VM behind the isolation NSG)',
    parse: (v) => (isHostName(v) ? { kind: 'isolate-vm', host: v.toLowerCase() } : 'Give a host name, for example `isolate web-01`.'),
  },
  disable: {
    usage: 'disable <upn> [for <number>]',
    description: 'Ask to disable an Entra ID account and revoke its sessions',
    parse: (v) => (isUserId(v) ? { kind: 'disable-user', user: v.toLowerCase() } : 'Give a user principal name or object id, for example `disable bob@contoso.com`.'),
  },
  indicator: {
    usage: 'indicator <ip | domain | url | hash> [for <number>]',
    description: "Ask to add an indicator to the workspace's threat intelligence",
    parse: (v) => {
      const i = parseIndicator(v);
      if (!i || (i.kind !== 'ip' && i.kind !== 'domain' && i.kind !== 'url' && i.kind !== 'hash')) return 'Give an IP address, a domain, a URL or a file hash.';
      return { kind: 'add-indicator', indicator: i.value, type: i.kind };
    },
  },
};

/**
 * `block`, `isolate`, `disable`, `indicator`: the same requests as the card buttons, answered
 * with the request's own card (approvers decide there, or through `actions`).
 */
export const requestCommand = (word: keyof typeof parsers): Command => ({
  usage: parsers[word].usage,
  description: parsers[word].description,
  gate: { access: 'staff', what: 'request actions' },
  // The target is taken as typed: a hidden character in it is refused, never quietly removed.
  asTyped: true,
  async handle(args, caller, deps) {
    if (!deps.actions) return { text: 'Response actions are not configured in this Vigil (VIGIL_ACTION_POLICY_FILE).' };
    if (!caller.aadObjectId) return { text: 'Teams did not say who you are, so I cannot take a request from you.' };
    const hidden = invisibleReason(args);
    if (hidden) return { text: `Refused: ${untrusted(hidden, 300)}.` };
    const m = /^(\S+)(?:\s+for\s+(\S+))?$/i.exec(args.trim());
    if (!m) return { text: `Usage: \`${parsers[word].usage}\`.` };
    const target = parsers[word].parse(m[1]!);
    if (typeof target === 'string') return { text: target };
    let incidentKey: string | undefined;
    if (m[2]) {
      const found = await findIncident(m[2], deps);
      if ('text' in found) return found;
      incidentKey = found.incident.key;
    }
    const r = await deps.actions.service.request({ incidentKey, target, by: { id: caller.aadObjectId, name: caller.name } });
    if (!r.ok) return { text: untrusted(r.reason, 400) };
    const action = r.action;
    return {
      card: await deps.actions.views.actionCard(action, caller.aadObjectId, { text: untrusted(r.message, 400), ok: true }),
      onSent: async (where) => {
        if (!action.card) await setActionCard(deps.db, action.id, where);
      },
    };
  },
});

export const ACTION_WORDS = Object.keys(parsers) as Array<keyof typeof parsers>;
