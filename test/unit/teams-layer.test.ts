import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(__dirname, '../../src');
const TEAMS_LAYER = ['teams', 'bot'];

const sourceFiles = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));

describe('the Bot Framework SDK stays in the Teams layer', () => {
  it('is imported only under src/teams/ and src/bot/, so a move to the Agents SDK touches only them', () => {
    const outside = sourceFiles(SRC)
      .filter((f) => !TEAMS_LAYER.includes(path.relative(SRC, f).split(path.sep)[0]!))
      .filter((f) => /from ['"]botbuilder[\w/-]*['"]|require\(['"]botbuilder/.test(fs.readFileSync(f, 'utf8')))
      .map((f) => path.relative(SRC, f));
    expect(outside).toEqual([]);
  });
});
