import fs from 'node:fs';
import path from 'node:path';
import { verbs } from '../../src/bot/verbs';

const CARDS = path.resolve(__dirname, '../../cards');

/** Every `verb` in a card template, plus those the code puts on buttons it builds itself. */
const verbsInCards = (): string[] => {
  const found = new Set<string>();
  for (const file of fs.readdirSync(CARDS).filter((f) => f.endsWith('.json'))) {
    for (const m of fs.readFileSync(path.join(CARDS, file), 'utf8').matchAll(/"verb"\s*:\s*"([^"$]+)"/g)) found.add(m[1]!);
  }
  for (const file of ['actions/render-action-view.ts', 'actions/response-view.ts', 'teams/render-digest-card.ts']) {
    for (const m of fs.readFileSync(path.resolve(__dirname, '../../src', file), 'utf8').matchAll(/verb: '([\w.]+)'/g)) found.add(m[1]!);
  }
  return [...found].sort();
};

describe('card verbs', () => {
  it('every verb a card can carry has a handler, and every handler is reachable from a card', () => {
    const inCards = verbsInCards();
    expect(inCards.length).toBeGreaterThan(5);
    expect(inCards.filter((v) => !Object.hasOwn(verbs, v))).toEqual([]);
    expect(Object.keys(verbs).filter((v) => !inCards.includes(v))).toEqual([]);
  });
});
