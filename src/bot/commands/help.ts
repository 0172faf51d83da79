import { escapeMarkdown } from '../../cards/markdown';
import { renderCard } from '../../cards/render-card';
import type { Command } from '../command';

/** Built from the command table itself, so a new command cannot miss its help line. */
export const createHelpCommand = (list: () => Array<{ usage: string; description: string }>): Command => ({
  usage: 'help',
  gate: { access: 'anyone', what: 'ask for help' },
  description: 'What Vigil can do',
  async handle() {
    // Usages hold placeholders like `<number>`, which markdown would swallow as HTML.
    return { card: renderCard('help', { commands: list().map((c) => ({ usage: escapeMarkdown(c.usage), description: c.description })) }) };
  },
});
