import type { CardAttachment } from '../../cards/render-card';
import type { Caller, CommandDeps } from '../command';

/** What a card button's click gets back: the card to show the clicker, or an error Teams displays. */
export type InvokeResult = { card: CardAttachment } | { error: { status: 400 | 401 | 403 | 404 | 500; message: string } };

export type VerbDeps = CommandDeps;

/**
 * One `Action.Execute` verb. `data` is the button's data merged with the card's inputs: untrusted,
 * parsed by the handler. Who clicked comes from Teams (`caller`), never from the card.
 */
export type VerbHandler = (data: Record<string, unknown>, caller: Caller, deps: VerbDeps) => Promise<InvokeResult>;

export const invokeError = (status: 400 | 401 | 403 | 404 | 500, message: string): InvokeResult => ({ error: { status, message } });

/** A positive whole number from button data, or undefined. */
export const numberIn = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

export const textIn = (v: unknown, max: number): string => (typeof v === 'string' ? v.trim().slice(0, max) : '');
