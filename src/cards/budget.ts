import type { CardAttachment } from './render-card';

/**
 * The smallest message limit Teams documents: about 28 KB for a Teams connector or Incoming Webhook
 * post (bots: 40 KB on older pages, 100 KB counted in UTF-16 now, 80 KB recommended). Every activity
 * Vigil sends stays within it, measured as the UTF-8 bytes of the whole JSON body.
 */
export const MAX_ACTIVITY_BYTES = 28_000;

/**
 * What the activity adds around its card: type, summary, text, and on a reply the ids of the
 * conversation, sender, recipient and the activity replied to (Teams ids run to ~100 characters).
 */
export const ENVELOPE_BYTES = 2_000;

/** A card's own budget: its attachment's JSON, UTF-8. */
export const CARD_BUDGET_BYTES = MAX_ACTIVITY_BYTES - ENVELOPE_BYTES;

/** How large a rendering may be; renderers take the largest version of their card that fits. */
export interface CardBudget {
  maxBytes: number;
}

export const defaultBudget: CardBudget = { maxBytes: CARD_BUDGET_BYTES };

/** UTF-8 bytes of a value's JSON: what a connector receives for it. */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** The bytes a card attachment (`contentType` and `content`) adds to an activity. */
export const cardBytes = (card: CardAttachment): number => jsonBytes(card);

/**
 * Renders a card at each level of detail in turn, richest first, and returns the first that fits
 * `budget` — the last level (which should be a minimal card: a title and a link) when none does.
 * The one place a card's size is decided; every renderer goes through it.
 */
export function fitCard<L>(levels: readonly L[], render: (level: L) => CardAttachment, budget: CardBudget = defaultBudget): CardAttachment {
  if (levels.length === 0) throw new Error('fitCard needs at least one level');
  let card: CardAttachment | undefined;
  for (const level of levels) {
    card = render(level);
    if (cardBytes(card) <= budget.maxBytes) return card;
  }
  return card!;
}

/** The first `max` items and how many were left out. */
export const cutList = <T>(items: readonly T[], max: number): { shown: T[]; hidden: number } => {
  const shown = items.slice(0, Math.max(0, max));
  return { shown, hidden: items.length - shown.length };
};

/** "…and 12 more" (plus where the rest is), or '' when nothing was left out. */
export const andMore = (hidden: number, rest = ''): string => (hidden > 0 ? `…and ${hidden} more${rest ? ` ${rest}` : ''}` : '');

/**
 * After Teams refused a card as too large (413 `MessageSizeTooBig`): a budget certain to give a
 * smaller card than the refused one, or undefined when there is nothing smaller left to try.
 */
export const tighterBudget = (refusedBytes: number, floorBytes = 256): CardBudget | undefined => {
  const next = Math.floor(refusedBytes * 0.6);
  return next < floorBytes ? undefined : { maxBytes: next };
};
