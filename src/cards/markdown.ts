/**
 * Adaptive Card TextBlocks render a markdown subset (bold, italics, lists, links), and Teams
 * turns bare URLs into links. Every value that came from an incident, an entity or a chat
 * message goes through `untrusted` before it reaches a card.
 */

const CONTROL_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;
const INLINE_MARKUP = /[\\`*_~[\]<>]/g;
const BLOCK_MARKER = /^(\s*)(#{1,6}(?=\s|$)|[+-](?=\s))/gm;
const ORDERED_LIST_MARKER = /^(\s*\d+)\.(?=\s)/gm;

/**
 * Backslash-escapes what could start markup: emphasis, code, links (`[` `]`), autolinks (`<`),
 * and headings, quotes and list markers at the start of a line. Other punctuation stays as it
 * is, so an IP address or a path still reads (and copies) unchanged.
 */
export const escapeMarkdown = (text: string): string =>
  text
    .replace(INLINE_MARKUP, (c) => `\\${c}`)
    .replace(BLOCK_MARKER, (_m, space: string, marker: string) => `${space}\\${marker}`)
    .replace(ORDERED_LIST_MARKER, (_m, number: string) => `${number}\\.`);

/** Breaks auto-linking of schemes and `www.` without changing what an analyst reads. */
export const defangLinks = (text: string): string =>
  text
    .replace(/\b(h)(tt)(ps?|p)(?=:\/\/)/gi, (_m, h: string, _tt: string, rest: string) => `${h}xx${rest}`)
    .replace(/:\/\//g, '[://]')
    .replace(/\bwww\./gi, 'www[.]');

/** Defangs an indicator completely (every dot), the SOC convention for URLs and domains. */
export const defangIndicator = (text: string): string => defangLinks(text).replace(/(?<!\[)\.(?!\])/g, '[.]');

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A lone surrogate (half of a broken pair) becomes U+FFFD, as a UTF-8 encoder would make it anyway. */
export const wellFormed = (text: string): string => text.replace(LONE_SURROGATE, '\ufffd');

/**
 * At most `max` UTF-16 code units, the last an ellipsis when cut. The cut never splits a surrogate
 * pair (an emoji, a CJK extension character): it steps back to the character's start.
 */
export const truncate = (text: string, max: number): string => {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const c = text.charCodeAt(end - 1);
  if (end > 0 && c >= 0xd800 && c <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
};

const clean = (text: string | undefined | null): string => wellFormed((text ?? '').replace(CONTROL_CHARS, '').replace(/\r\n?/g, '\n'));

/** Untrusted text without control characters or broken surrogates, cut to `max`; not yet escaped. */
export const cleanText = (text: string | undefined | null, max = 300): string => truncate(clean(text), max);

/**
 * Plain text from an untrusted source, safe to place in any TextBlock or Fact. Links are defanged
 * before the cut (so no half scheme is left live) and markup escaped after it (so no escape is split).
 */
export const untrusted = (text: string | undefined | null, max = 300): string => escapeMarkdown(truncate(defangLinks(clean(text)), max));

/** Speech (a card's `speak`) is plain words: no markdown, no links, nothing a template would read. */
export const spoken = (text: string, max: number): string =>
  defangIndicator(cleanText(text, max))
    .replace(/[[\]()*_`#<>\\~|{}$]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/**
 * `text` as inline code, shown exactly as typed: markdown reads nothing inside a code span, and
 * the fence is one backtick longer than any run of them in `text`, so none of them ends it.
 */
export const codeSpan = (text: string): string => {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || (text.startsWith(' ') && text.endsWith(' ')) ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
};
