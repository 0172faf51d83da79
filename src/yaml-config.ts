import fs from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { z } from 'zod';
import { AppError } from './errors';

/** The YAML node at `path`, to say on which line a problem is. */
const nodeAt = (root: unknown, path: PropertyKey[]): Node | undefined => {
  let node = root as Node | undefined;
  for (const key of path) {
    if (isMap(node)) node = node.get(String(key), true) as Node | undefined;
    else if (isSeq(node)) node = node.get(Number(key), true) as Node | undefined;
    else return node;
  }
  return node;
};

/** Names a place in the file: `file line 12: rotations.0.name`. */
export type Where = (path: PropertyKey[]) => string;

/**
 * Reads a YAML (or JSON) settings file against `schema`, then `check` for what a schema cannot say.
 * Every problem names its line and field, all of them at once, in one CONFIG_INVALID error.
 */
export function parseYamlConfig<S extends z.ZodType>(text: string, source: string, schema: S, check: (data: z.infer<S>, where: Where) => string[] = () => []): z.infer<S> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset?: number) => (offset === undefined ? '' : ` line ${lines.linePos(offset).line}`);
  if (doc.errors.length > 0) {
    throw new AppError('CONFIG_INVALID', `${source} is not valid YAML:\n  - ${doc.errors.map((e) => `${source}${at(e.pos[0])}: ${e.message.split('\n')[0]}`).join('\n  - ')}`);
  }
  const where: Where = (path) => `${source}${at(nodeAt(doc.contents, path)?.range?.[0])}: ${path.join('.') || '(top)'}`;
  const parsed = schema.safeParse(doc.toJS());
  const problems = parsed.success ? check(parsed.data, where) : parsed.error.issues.map((i) => `${where(i.path as PropertyKey[])}: ${i.message}`);
  if (problems.length > 0) throw new AppError('CONFIG_INVALID', `${source} has problems:\n  - ${problems.join('\n  - ')}`, { problems });
  return parsed.data as z.infer<S>;
}

/** The file's text, or a CONFIG_INVALID error naming the setting that pointed at it. */
export function readConfigFile(setting: string, path: string): string {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new AppError('CONFIG_INVALID', `${setting}: cannot read ${path} (${(e as { code?: string }).code ?? 'error'})`);
  }
}

/** A pattern a policy file matches titles with: refused at load when it is not a valid regular expression. */
export const regexPattern = () =>
  z.string().refine((p) => {
    try {
      new RegExp(p, 'i');
      return true;
    } catch {
      return false;
    }
  }, 'must be a valid regular expression');
