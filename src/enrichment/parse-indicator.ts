import ipaddr from 'ipaddr.js';
import type { Indicator } from './types';
import { isUpn } from '../ids';

const HASH = /^(?:[a-f0-9]{32}|[a-f0-9]{40}|[a-f0-9]{64})$/i;
const DOMAIN = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** Undoes the usual defanging ("hxxp", "[.]", "[:]//") so analysts can paste what they copied. */
const refang = (text: string) => text.replace(/\[(\.|:|:\/\/)\]/g, '$1').replace(/^hxxp/i, 'http');

/**
 * Reads what an analyst typed after `enrich` as one indicator: an IP address, a URL, a file hash,
 * a user principal name or a domain. Undefined when it is none of them.
 */
export function parseIndicator(input: string): Indicator | undefined {
  const text = refang(input.trim().replace(/^<|>$/g, ''));
  if (text === '' || /\s/.test(text) || text.length > 2048) return undefined;
  if (ipaddr.isValid(text) && (ipaddr.IPv4.isValidFourPartDecimal(text) || text.includes(':'))) return { kind: 'ip', value: ipaddr.parse(text).toString() };
  if (/^https?:\/\//i.test(text)) {
    try {
      return { kind: 'url', value: new URL(text).toString() };
    } catch {
      return undefined;
    }
  }
  if (HASH.test(text)) return { kind: 'hash', value: text.toLowerCase() };
  if (isUpn(text)) return { kind: 'account', value: text.toLowerCase() };
  if (DOMAIN.test(text)) return { kind: 'domain', value: text.toLowerCase() };
  return undefined;
}
