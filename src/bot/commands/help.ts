import { renderCard } from '../../cards/render-card';
import type { Command } from '../command';

/** Built from the command table itself, so a new command cannot miss its help line. */
export const createHelpCommand = (list: () => Array<{ usage: string; description: string }>): Command => ({
  usage: 'help',
  description: 'What Vigil can do',
  async handle() {
    return { card: renderCard('help', { commands: list() }) };
  },
});
