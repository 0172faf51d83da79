import * as ACData from 'adaptivecards-templating';
import fs from 'node:fs';
import path from 'node:path';

export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

export interface CardAttachment {
  contentType: typeof ADAPTIVE_CARD;
  content: Record<string, unknown>;
}

const CARDS_DIR = path.resolve(__dirname, '../../cards');
const templates = new Map<string, ACData.Template>();

const template = (name: string): ACData.Template => {
  let t = templates.get(name);
  if (!t) {
    t = new ACData.Template(JSON.parse(fs.readFileSync(path.join(CARDS_DIR, `${name}.json`), 'utf8')));
    templates.set(name, t);
  }
  return t;
};

/**
 * Expands `cards/<name>.json` with `data`. Data values are inserted as text and never evaluated
 * as template expressions, but they are still markdown: callers escape untrusted values first.
 */
export function renderCard(name: string, data: Record<string, unknown>): CardAttachment {
  return { contentType: ADAPTIVE_CARD, content: template(name).expand({ $root: data }) as Record<string, unknown> };
}
