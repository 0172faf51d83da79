import { ZERO_WIDTH } from '../actions/canonical-target';

/**
 * The longest message Vigil reads. Teams lets a message reach about 28 KB; no command needs more
 * than a few lines, and a limit well below Teams' keeps every echo of the text on a card small.
 */
export const MAX_MESSAGE = 4000;

export interface ChatInput {
  /** NFKC, zero-width characters removed, trimmed: what commands parse. */
  text: string;
  /**
   * NFKC only, trimmed: for the commands that name a target to act on, which must refuse a
   * hidden character rather than have it silently taken out (what is approved is what is typed).
   */
  asTyped: string;
}

/**
 * Teams text as Vigil reads it: HTML non-breaking spaces as spaces, Unicode NFKC (fullwidth and
 * compatibility forms become plain letters, so `ｈｅｌｐ` is `help`), zero-width characters
 * (U+200B–U+200D, U+2060, U+FEFF) removed. Pure.
 */
export function normaliseChatInput(raw: string): ChatInput {
  const asTyped = raw
    .replace(/&nbsp;/g, ' ')
    .normalize('NFKC')
    .trim();
  return { asTyped, text: asTyped.replace(ZERO_WIDTH, '').trim() };
}

/** Characters as people count them (code points, not UTF-16 units). */
export const lengthOf = (text: string): number => [...text].length;

/** The answer to a message over a command's limit. */
export const tooLong = (length: number, max: number): string => `That message is too long: ${length} characters, at most ${max}.`;
