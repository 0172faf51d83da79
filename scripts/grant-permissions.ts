import 'dotenv/config';
import { AzureCliCredential, EnvironmentCredential, type TokenCredential } from '@azure/identity';
import { loadActionPolicy } from '../src/actions/action-policy';
import { authorityOptions } from '../src/azure-credential';
import { loadConfig } from '../src/config';
import { applyGrants, azRestCommand, GrantError, planGrants } from '../src/deploy/grant-permissions';
import { RESOURCE_APPS, requiredRoles } from '../src/deploy/required-permissions';
import { createGraphClient } from '../src/graph/graph-client';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const USAGE = 'usage: npm run grant-permissions -- --principal-id <managed identity object id> [--dry-run] [--credential cli|env]';

const argument = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};

/**
 * The administrator's credential, never Vigil's own: `cli` (the default) is whoever ran `az login`;
 * `env` is a service principal from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (a
 * pipeline). Either needs AppRoleAssignment.ReadWrite.All and Application.Read.All, or the
 * Privileged Role Administrator role.
 */
const adminCredential = (kind: string, authorityHost?: string): TokenCredential => (kind === 'env' ? new EnvironmentCredential(authorityOptions(authorityHost)) : new AzureCliCredential());

/**
 * `npm run grant-permissions -- --principal-id <oid> [--dry-run]`: grants Vigil's identity exactly
 * the Microsoft Graph and Defender for Endpoint application roles its enabled features need (from
 * the settings in the environment and `.env`, and the action policy), and only those it lacks.
 * `--dry-run` prints the equivalent `az rest` commands and changes nothing. Run again: grants nothing.
 */
async function main(): Promise<number> {
  const principalId = argument('--principal-id') ?? process.env.VIGIL_IDENTITY_PRINCIPAL_ID;
  if (!principalId || !GUID.test(principalId)) {
    console.error(`${USAGE}\n(or set VIGIL_IDENTITY_PRINCIPAL_ID; the object id is the principalId output of the infra template, or az identity show --query principalId)`);
    return 2;
  }
  const dryRun = process.argv.includes('--dry-run');
  const config = loadConfig(process.env);
  const policy = config.actions ? loadActionPolicy(config.actions.policyFile) : undefined;
  const required = requiredRoles(config, policy);
  if (required.length === 0) {
    console.log('No Microsoft Graph or Defender for Endpoint feature is enabled in these settings: nothing to grant.');
    return 0;
  }
  const graphBaseUrl = config.enrichment.graph?.baseUrl ?? 'https://graph.microsoft.com';
  const graph = createGraphClient({ baseUrl: graphBaseUrl, timeoutMs: config.upstreamTimeoutMs, credential: adminCredential(argument('--credential') ?? 'cli', config.azure.authorityHost) });
  const plan = await planGrants(graph, principalId, required);
  console.log(`Identity ${plan.principal.displayName ?? plan.principal.id} (${plan.principal.type ?? 'service principal'} ${plan.principal.id})`);
  for (const p of plan.present) console.log(`✓ ${RESOURCE_APPS[p.api].name} ${p.role} — already granted${p.heldAs === p.role ? '' : ` (covered by ${p.heldAs})`}`);
  const why = (g: (typeof plan.missing)[number]) => g.neededBy.map((n) => n.feature).join('; ');
  if (dryRun) {
    for (const g of plan.missing) console.log(`+ ${RESOURCE_APPS[g.api].name} ${g.role} — would grant, for ${why(g)}:\n    ${azRestCommand(graphBaseUrl, g)}`);
    console.log(plan.missing.length === 0 ? 'Dry run: nothing is missing.' : `Dry run: ${plan.missing.length} to grant; nothing was changed.`);
    return 0;
  }
  await applyGrants(graph, plan, (g) => console.log(`+ ${RESOURCE_APPS[g.api].name} ${g.role} — granted, for ${why(g)}`));
  console.log(
    plan.missing.length === 0
      ? 'Nothing to grant: the identity has every role its features need.'
      : `Granted ${plan.missing.length}. Tokens issued from now on carry them (a running Vigil picks them up within the hour, or at restart).`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message =
      e instanceof GrantError || (e as { name?: string })?.name === 'AppError' || (e as { name?: string })?.name === 'UpstreamError' ? (e as Error).message : String((e as Error)?.message ?? e);
    console.error(`grant-permissions failed: ${message}`);
    process.exit(1);
  },
);
