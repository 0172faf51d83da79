import { bearer, fail, httpStatus, NoAnswer, off, ok, probe, reason, type Check, type DoctorContext, type Outcome } from './check';

const NETWORK_API = '2024-07-01';

/** One NSG through ARM: it exists and the identity may read it (Vigil reads rules and locations before writing). */
async function readNsg(ctx: DoctorContext, setting: string, nsgId: string): Promise<Outcome> {
  const name = `${setting} ${nsgId.split('/').pop()}`;
  const arm = ctx.config.sentinel.armEndpoint;
  try {
    const p = await probe(`${arm}${nsgId}?api-version=${NETWORK_API}`, { timeoutMs: ctx.timeoutMs, headers: await bearer(ctx, `${arm}/.default`) });
    if (p.status === 200) return ok(name, `readable (${(p.json as { location?: string } | undefined)?.location ?? 'no location'})`);
    if (p.status === 404) return fail(name, `${httpStatus(p)}: no network security group ${nsgId}; check ${setting}`);
    if (p.status === 403)
      return fail(name, `${httpStatus(p)}: the identity may not read ${nsgId}; assign it Network Contributor (or a role with networkSecurityGroups read and write) on its resource group`);
    return fail(name, `${httpStatus(p)} from ${arm}`);
  } catch (e) {
    return fail(name, `${e instanceof NoAnswer ? e.message : reason(e)} (ARM_ENDPOINT ${arm})`);
  }
}

/** The block NSG and every isolation NSG, each on its own line. */
export const checkNsgs: Check = async (ctx) => {
  const actions = ctx.config.actions;
  const lines: Array<Promise<Outcome>> = [];
  if (actions?.blockNsg) lines.push(readNsg(ctx, 'BLOCK_NSG_ID', actions.blockNsg.nsgId));
  for (const id of actions?.isolationNsgIds ?? []) lines.push(readNsg(ctx, 'ISOLATION_NSG_ID', id));
  if (lines.length === 0) return [off('network security groups', 'off (no BLOCK_NSG_ID or ISOLATION_NSG_ID)')];
  return Promise.all(lines);
};
