import { parseYamlConfig, readConfigFile } from '../yaml-config';
import { scheduleSchema, type Schedule } from './schedule-types';

/**
 * Reads the on-call schedule (YAML or JSON, which is YAML too) and checks it all: a problem names
 * its line and field, every problem at once. A schedule that would leave nobody on call never
 * loads (rotations need people; every escalation rotation and override must exist).
 */
export function parseSchedule(text: string, source = 'the on-call schedule'): Schedule {
  return parseYamlConfig(text, source, scheduleSchema, (data, where) => {
    const problems: string[] = [];
    const names = new Set(data.rotations.map((r) => r.name));
    data.rotations.forEach((r, n) => {
      if (r.length === 'weekly' && !r.handoffDay) problems.push(`${where(['rotations', n])}: a weekly rotation needs handoffDay`);
    });
    data.escalation.forEach((l, n) => {
      if (l.rotation && !names.has(l.rotation)) problems.push(`${where(['escalation', n, 'rotation'])}: no rotation is named "${l.rotation}"`);
    });
    data.overrides.forEach((o, n) => {
      if (!names.has(o.rotation)) problems.push(`${where(['overrides', n, 'rotation'])}: no rotation is named "${o.rotation}"`);
      if (o.from >= o.to) problems.push(`${where(['overrides', n, 'to'])}: must be after from`);
    });
    return problems;
  });
}

export const loadSchedule = (path: string): Schedule => parseSchedule(readConfigFile('VIGIL_ONCALL_FILE', path), path);
