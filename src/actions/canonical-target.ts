import type { ActionTarget } from './action-kinds';

/** The characters people cannot see that matter most: zero-width and bidirectional controls. */
const NAMED: Record<number, string> = {
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x2060: 'WORD JOINER',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x061c: 'ARABIC LETTER MARK',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
};

/** Zero-width characters: removed from chat text, refused in targets. */
export const ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF]/g;

/** Control (Cc) and format (Cf) characters: every named one above, soft hyphens, tag characters, … */
const INVISIBLE = /[\p{Cc}\p{Cf}]/u;

/** The first character in `text` nobody can see, where it is, and what it is called. */
export function findInvisible(text: string): { codePoint: number; name: string; before: string } | undefined {
  const m = INVISIBLE.exec(text);
  if (!m) return undefined;
  const codePoint = m[0].codePointAt(0)!;
  const hex = `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
  return { codePoint, name: NAMED[codePoint] ? `${hex} ${NAMED[codePoint]}` : `${hex}, an invisible control character`, before: text.slice(0, m.index) };
}

/** NFKC, trimmed, lower case: how names are compared (fullwidth `ｂｒｅａｋｇｌａｓｓ` is `breakglass`). */
export const canonicalName = (v: string): string => v.normalize('NFKC').trim().toLowerCase();

export type Canonical = { ok: true; target: ActionTarget } | { ok: false; reason: string };

/** Why a target holding an invisible character is refused, in words; undefined when it holds none. */
export const invisibleReason = (value: string): string | undefined => {
  const hidden = findInvisible(value);
  if (!hidden) return undefined;
  const shown = `${[...hidden.before.replace(/[\p{Cc}\p{Cf}]/gu, '')].slice(-40).join('')}`;
  return `the target contains a character you cannot see (${hidden.name})${shown ? ` after "${shown}"` : ' at its start'}; Vigil never acts on a name with hidden characters — type it again without them`;
};

/**
 * The one form of a target every check and every executor sees: Unicode NFKC (fullwidth and
 * other compatibility forms become their plain letters), trimmed, case folded where case means
 * nothing. A target holding a zero-width, bidirectional or other invisible character is refused,
 * never silently cleaned: what an approver reads must be what is acted on. Pure.
 */
export function canonicalTarget(t: ActionTarget): Canonical {
  const values = Object.values(t).filter((v): v is string => typeof v === 'string');
  for (const v of values) {
    const reason = invisibleReason(v);
    if (reason) return { ok: false, reason };
  }
  const nfkc = (v: string) => v.normalize('NFKC').trim();
  switch (t.kind) {
    case 'block-ip':
      return { ok: true, target: { kind: 'block-ip', ip: nfkc(t.ip).toLowerCase() } };
    case 'isolate-vm':
      return { ok: true, target: { kind: 'isolate-vm', host: canonicalName(t.host), ...(t.azureId ? { azureId: nfkc(t.azureId) } : {}) } };
    case 'disable-user':
      return { ok: true, target: { kind: 'disable-user', user: canonicalName(t.user), ...(t.upn ? { upn: canonicalName(t.upn) } : {}) } };
    case 'block-hash':
      return { ok: true, target: { kind: 'block-hash', hash: canonicalName(t.hash), algorithm: t.algorithm } };
    case 'add-indicator': {
      const value = nfkc(t.indicator);
      return { ok: true, target: { kind: 'add-indicator', type: t.type, indicator: t.type === 'url' ? value : value.toLowerCase() } };
    }
  }
}
