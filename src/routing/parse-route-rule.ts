import {
  ORDER_OPERATORS,
  PATTERN_KEYS,
  ROUTE_SEVERITIES,
  SEVERITY_KEYS,
  type Condition,
  type OrderOperator,
  type PatternKey,
  type RouteRule,
  type RouteSeverity,
  type SeverityKey,
} from './route-rule';
import { codeSpan } from '../cards/markdown';

export const MAX_RULE_LENGTH = 500;
export const MAX_CONDITIONS = 10;
export const MAX_VALUES = 20;

export type ParsedRule = { ok: true; rule: RouteRule } | { ok: false; error: string };

const KEYS: readonly string[] = [...SEVERITY_KEYS, ...PATTERN_KEYS];
/** Longest first, so `>=` is not read as `>` followed by a value starting with `=`. */
const OPERATORS = ['>=', '<=', '!=', '=', '>', '<'] as const;
const BARE = /[^\s,"\\]/;
const SPACE = /\s/;
/** Nothing a reader cannot see: control characters, line breaks other than spaces, invisible formatting. */
const HIDDEN = /(?!\t)[\p{Cc}\p{Cf}\u2028\u2029]/u;

export const RULE_SYNTAX =
  'A rule is `all`, or conditions separated by spaces, every one of which must hold: `severity>=High workspace=contoso`. ' +
  `Conditions: ${KEYS.join(', ')}; severities are ${ROUTE_SEVERITIES.join(', ')} (severity is Vigil's assessment where it made one). ` +
  'Use =, != (several values with commas: `tag=phish,bec`) or, for a severity, >=, <=, >, <; `*` matches anything (`title="*password spray*"`).';

class RuleSyntaxError extends Error {}

/** `severity>=High workspace=contoso` as a rule, or what is wrong with it and where. */
export function parseRouteRule(input: string): ParsedRule {
  try {
    return { ok: true, rule: readRule(input) };
  } catch (e) {
    if (e instanceof RuleSyntaxError) return { ok: false, error: e.message };
    throw e;
  }
}

function readRule(input: string): RouteRule {
  const fail = (at: number, what: string): never => {
    throw new RuleSyntaxError(`${what} (at character ${at + 1}).`);
  };
  if (input.length > MAX_RULE_LENGTH) throw new RuleSyntaxError(`A rule is at most ${MAX_RULE_LENGTH} characters; this one has ${input.length}.`);
  const text = input.trim();
  if (text === '') throw new RuleSyntaxError('The rule is empty: give conditions such as `severity>=High`, or `all` for every incident.');
  if (text.toLowerCase() === 'all') return { conditions: [] };
  const hidden = input.search(HIDDEN);
  if (hidden >= 0) fail(hidden, 'The rule holds a control or invisible character; type it again on one line');
  const start = input.indexOf(text);
  const conditions: Condition[] = [];
  let i = start;
  const end = start + text.length;
  while (i < end) {
    while (i < end && SPACE.test(input[i]!)) i++;
    if (i >= end) break;
    if (conditions.length === MAX_CONDITIONS) fail(i, `A rule has at most ${MAX_CONDITIONS} conditions`);
    const keyAt = i;
    while (i < end && /[a-z-]/i.test(input[i]!)) i++;
    const key = input.slice(keyAt, i).toLowerCase();
    if (key === '') fail(keyAt, `Expected a condition such as \`severity>=High\`, found ${codeSpan(input.slice(keyAt, keyAt + 20).trim())}`);
    if (key === 'all') fail(keyAt, '`all` stands alone: it takes every incident, so there is nothing to add to it');
    if (!KEYS.includes(key)) fail(keyAt, `\`${key}\` is not a condition; conditions are ${KEYS.join(', ')}`);
    const opAt = i;
    const op = OPERATORS.find((o) => input.startsWith(o, i));
    if (!op) fail(opAt, `\`${key}\` needs an operator and a value, such as \`${key}=…\``);
    i += op!.length;
    const values: string[] = [];
    const positions: number[] = [];
    for (;;) {
      const valueAt = i;
      positions.push(valueAt);
      let value = '';
      if (input[i] === '"') {
        i++;
        for (;;) {
          if (i >= end) fail(valueAt, 'This quoted value is not closed with `"`');
          const c = input[i]!;
          if (c === '"') break;
          if (c === '\\') {
            const next = input[i + 1];
            if (next !== '"' && next !== '\\') fail(i, 'In quotes only `\\"` and `\\\\` are escapes');
            value += next;
            i += 2;
          } else {
            value += c;
            i++;
          }
        }
        i++;
      } else {
        while (i < end && BARE.test(input[i]!)) value += input[i++]!;
      }
      if (value === '') fail(valueAt, `\`${key}${op}\` needs a value`);
      values.push(value);
      if (values.length > MAX_VALUES) fail(valueAt, `A condition has at most ${MAX_VALUES} values`);
      if (input[i] !== ',') break;
      i++;
    }
    if (i < end && !SPACE.test(input[i]!))
      fail(i, `Unexpected ${codeSpan(input[i]!)} after ${codeSpan(input.slice(keyAt, i))}: separate conditions with spaces, values with commas, and put values with spaces or commas in quotes`);
    conditions.push(conditionOf(key, op!, values, positions, fail));
  }
  return { conditions };
}

function conditionOf(key: string, op: (typeof OPERATORS)[number], values: string[], at: number[], fail: (at: number, what: string) => never): Condition {
  if ((SEVERITY_KEYS as readonly string[]).includes(key)) {
    const severities = values.map(
      (v, n) => ROUTE_SEVERITIES.find((s) => s.toLowerCase() === v.toLowerCase()) ?? fail(at[n]!, `${codeSpan(v)} is not a severity; severities are ${ROUTE_SEVERITIES.join(', ')}`),
    );
    if ((ORDER_OPERATORS as readonly string[]).includes(op)) {
      if (severities.length !== 1) fail(at[1]!, `\`${op}\` compares with one severity, not a list`);
      return { key: key as SeverityKey, op: op as OrderOperator, values: [severities[0] as RouteSeverity] };
    }
    return { key: key as SeverityKey, op: op as '=' | '!=', values: severities };
  }
  if (op !== '=' && op !== '!=') fail(at[0]! - op.length, `\`${key}\` takes = or !=; only a severity is compared with ${op}`);
  return { key: key as PatternKey, op: op as '=' | '!=', values };
}

const formatValue = (v: string) => ([...v].every((c) => BARE.test(c)) ? v : `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`);

/** The rule as `parseRouteRule` reads it back: what is stored and shown. */
export const formatRouteRule = (rule: RouteRule): string => (rule.conditions.length === 0 ? 'all' : rule.conditions.map((c) => `${c.key}${c.op}${c.values.map(formatValue).join(',')}`).join(' '));
