import * as ACData from 'adaptivecards-templating';
import fs from 'node:fs';
import path from 'node:path';
import { assetPath } from '../package-root';

export const ADAPTIVE_CARD = 'application/vnd.microsoft.card.adaptive';

export interface CardAttachment {
  contentType: typeof ADAPTIVE_CARD;
  content: Record<string, unknown>;
}

const templates = new Map<string, ACData.Template>();
let allLoaded = false;

/** Reads, parses and test-expands one template; the error names the file. */
const compile = (file: string): ACData.Template => {
  try {
    const t = new ACData.Template(JSON.parse(fs.readFileSync(file, 'utf8')));
    // The expression parser runs on first expansion: do it now, on empty data, so a broken
    // expression fails here rather than on the first incident.
    t.expand({ $root: {} });
    return t;
  } catch (e) {
    throw new Error(`card template ${path.relative(process.cwd(), file) || file} is broken: ${e instanceof Error ? e.message : String(e)}`);
  }
};

/**
 * Loads and compiles every template in `cards/` (the package's own by default). Called at start-up
 * so a missing or broken template stops Vigil there, naming the file, instead of failing every
 * card later. Returns the names loaded.
 */
export function loadCardTemplates(dir = assetPath('cards')): string[] {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  if (files.length === 0) throw new Error(`no card templates in ${dir}`);
  const loaded = new Map(files.map((f) => [f.replace(/\.json$/, ''), compile(path.join(dir, f))] as const));
  templates.clear();
  for (const [name, t] of loaded) templates.set(name, t);
  allLoaded = true;
  return [...loaded.keys()];
}

/** True once `loadCardTemplates` has run: `/readyz` waits for it. */
export const cardTemplatesLoaded = (): boolean => allLoaded;

const template = (name: string): ACData.Template => {
  let t = templates.get(name);
  if (!t) {
    // Outside the app (a unit test rendering one card) the template is loaded on first use.
    t = compile(assetPath('cards', `${name}.json`));
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
