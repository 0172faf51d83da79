import { ACTION_KINDS, ACTION_LABELS } from '../actions/action-kinds';
import { loadActionPolicy } from '../actions/action-policy';
import { loadSchedule } from '../paging/load-schedule';
import { fail, off, ok, reason, type Check } from './check';

/** The action policy loads as Vigil loads it at start (a broken one stops start-up, naming the line). */
export const checkActionPolicy: Check = async ({ config }) => {
  const file = config.actions?.policyFile;
  if (!file) return [off('action policy', 'off (no VIGIL_ACTION_POLICY_FILE): no response actions')];
  try {
    const policy = loadActionPolicy(file);
    const on = ACTION_KINDS.filter((k) => policy.kinds[k].requesterGroups.length + policy.kinds[k].requesterUsers.length > 0).map((k) => ACTION_LABELS[k]);
    return [ok('action policy', `${file} valid; requestable: ${on.length > 0 ? on.join(', ') : 'nothing'}`)];
  } catch (e) {
    return [fail('action policy', reason(e))];
  }
};

/** The on-call schedule loads as Vigil loads it at start. */
export const checkOnCall: Check = async ({ config }) => {
  const file = config.paging?.scheduleFile;
  if (!file) return [off('on-call schedule', 'off (no VIGIL_ONCALL_FILE): no paging')];
  try {
    loadSchedule(file);
    return [ok('on-call schedule', `${file} valid`)];
  } catch (e) {
    return [fail('on-call schedule', reason(e))];
  }
};
