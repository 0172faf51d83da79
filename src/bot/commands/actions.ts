import { andMore, fitCard } from '../../cards/budget';
import { renderCard } from '../../cards/render-card';
import { actionRow } from '../../actions/render-action-view';
import { listOpenActions } from '../../store/action-repository';
import { teamsUserNames } from '../../store/teams-user-repository';
import type { Command } from '../command';

const SHOWN = 15;

/** `actions`: requests waiting for a decision or running, with Approve/Reject for those who may decide. */
export const actionsCommand: Command = {
  usage: 'actions',
  gate: { access: 'staff', what: 'see action requests' },
  description: 'Open action requests, with Approve and Reject for approvers',
  async handle(_args, caller, deps) {
    if (!deps.actions) return { text: 'Response actions are not configured in this Vigil (VIGIL_ACTION_POLICY_FILE).' };
    const open = await listOpenActions(deps.db, SHOWN);
    if (open.length === 0) return { text: 'No open action requests.' };
    const [names, viewer] = await Promise.all([
      teamsUserNames(deps.db, [...new Set(open.flatMap((a) => [a.requestedBy, ...a.approvals]))]),
      caller.aadObjectId ? deps.actions.views.viewerOf(caller.aadObjectId) : undefined,
    ]);
    const rows = open.map((a) => {
      const row = actionRow(a, names, open, viewer);
      return { ...row, text: `${row.text} · ref ${a.id.slice(0, 8)}`, buttons: row.buttons.map((b) => ({ ...b, data: { ...b.data, view: 'action' } })) };
    });
    const card = fitCard([SHOWN, 8, 4, 1], (n) =>
      renderCard('action-list', {
        heading: `${open.length} open action request${open.length === 1 ? '' : 's'}`,
        rows: rows.slice(0, n),
        more: andMore(rows.length - n, 'requests: decide on these first, then type `actions` again'),
      }),
    );
    return { card };
  },
};
