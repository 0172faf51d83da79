import fs from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { AppError } from '../errors';
import { scheduleSchema, type Schedule } from './schedule-types';

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

/**
 * Reads the on-call schedule (YAML or JSON, which is YAML too) and checks it all: a problem names
 * its line and field, every problem at once. A schedule that would leave nobody on call never
 * loads (rotations need people; every escalation rotation and override must exist).
 */
export function parseSchedule(text: string, source = 'the on-call schedule'): Schedule {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset?: number) => (offset === undefined ? '' : ` line ${lines.linePos(offset).line}`);
  if (doc.errors.length > 0) {
    throw new AppError('CONFIG_INVALID', `${source} is not valid YAML:\n  - ${doc.errors.map((e) => `${source}${at(e.pos[0])}: ${e.message.split('\n')[0]}`).join('\n  - ')}`);
  }
  const where = (path: PropertyKey[]) => `${source}${at(nodeAt(doc.contents, path)?.range?.[0])}: ${path.join('.') || '(top)'}`;
  const parsed = scheduleSchema.safeParse(doc.toJS());
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${where(i.path)}: ${i.message}`);
  if (parsed.success) {
    const names = new Set(parsed.data.rotations.map((r) => r.name));
    parsed.data.rotations.forEach((r, n) => {
      if (r.length === 'weekly' && !r.handoffDay) problems.push(`${where(['rotations', n])}: a weekly rotation needs handoffDay`);
    });
    parsed.data.escalation.forEach((l, n) => {
      if (l.rotation && !names.has(l.rotation)) problems.push(`${where(['escalation', n, 'rotation'])}: no rotation is named "${l.rotation}"`);
    });
    parsed.data.overrides.forEach((o, n) => {
      if (!names.has(o.rotation)) problems.push(`${where(['overrides', n, 'rotation'])}: no rotation is named "${o.rotation}"`);
      if (o.from >= o.to) problems.push(`${where(['overrides', n, 'to'])}: must be after from`);
    });
  }
  if (problems.length > 0) throw new AppError('CONFIG_INVALID', `${source} has problems:\n  - ${problems.join('\n  - ')}`, { problems });
  return parsed.data!;
}

export const loadSchedule = (path: string): Schedule => {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    throw new AppError('CONFIG_INVALID', `VIGIL_ONCALL_FILE: cannot read ${path} (${(e as { code?: string }).code ?? 'error'})`);
  }
  return parseSchedule(text, path);
};
