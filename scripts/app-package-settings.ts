import { z } from 'zod';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The committed manifest's placeholders: fine for the Playground, never for a real tenant. */
const PLACEHOLDER_HOST = /(^|\.)example\.(com|org|net)$/i;

const text = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/** Teams opens these links for users, so only https, and never the placeholder domain. */
const httpsUrl = text
  .refine((v) => v === undefined || isHttps(v), 'must be an https:// URL')
  .refine((v) => v === undefined || !PLACEHOLDER_HOST.test(new URL(v).hostname), 'is still a placeholder (example.com)');

const isHttps = (v: string) => {
  try {
    return new URL(v).protocol === 'https:';
  } catch {
    return false;
  }
};

const DOMAIN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

const schema = z.object({
  MicrosoftAppId: text.refine((v) => v === undefined || GUID.test(v), "must be the bot's app id (a GUID)"),
  VIGIL_PUBLIC_URL: httpsUrl,
  VIGIL_DEVELOPER_NAME: text.refine((v) => v === undefined || v.length <= 32, 'at most 32 characters (Teams shows it as the publisher)'),
  VIGIL_DEVELOPER_WEBSITE_URL: httpsUrl,
  VIGIL_PRIVACY_URL: httpsUrl,
  VIGIL_TERMS_URL: httpsUrl,
  VIGIL_VALID_DOMAINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((d) => d.trim().toLowerCase())
        .filter((d) => d !== ''),
    )
    .refine((ds) => ds.every((d) => DOMAIN.test(d)), 'must be a comma-separated list of host names (a leading *. is allowed), without scheme or path'),
});

export interface AppPackageSettings {
  /** Undefined: a sandbox package that keeps the manifest's placeholders (the Playground needs none). */
  appId?: string;
  developer?: { name: string; websiteUrl: string; privacyUrl: string; termsOfUseUrl: string };
  validDomains: string[];
}

/** What a real tenant's package must say, and the setting that says it. */
const REQUIRED_FOR_A_TENANT = {
  VIGIL_PUBLIC_URL: "the bot's public https URL (the web app's, e.g. https://vigil-contoso.azurewebsites.net); its host becomes a valid domain",
  VIGIL_DEVELOPER_NAME: 'the publisher Teams shows in the app details (your SOC or company)',
  VIGIL_DEVELOPER_WEBSITE_URL: 'your website',
  VIGIL_PRIVACY_URL: 'your privacy statement',
  VIGIL_TERMS_URL: 'your terms of use',
} as const;

/**
 * The app package's settings, from the same environment (and `.env`) as the bot. With
 * `MicrosoftAppId` set the package is for a real tenant, so every publisher setting is required.
 * Returns every problem at once, or the settings.
 */
export function readAppPackageSettings(env: Record<string, string | undefined>): { settings: AppPackageSettings; problems: [] } | { problems: string[] } {
  const parsed = schema.safeParse(env);
  if (!parsed.success) return { problems: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
  const e = parsed.data;
  if (!e.MicrosoftAppId) return { settings: { validDomains: e.VIGIL_VALID_DOMAINS }, problems: [] };
  const missing = (Object.keys(REQUIRED_FOR_A_TENANT) as Array<keyof typeof REQUIRED_FOR_A_TENANT>).filter((k) => !e[k]);
  if (missing.length > 0) return { problems: missing.map((k) => `${k}: required with MicrosoftAppId — ${REQUIRED_FOR_A_TENANT[k]}`) };
  const publicHost = new URL(e.VIGIL_PUBLIC_URL!).hostname.toLowerCase();
  return {
    settings: {
      appId: e.MicrosoftAppId.toLowerCase(),
      developer: { name: e.VIGIL_DEVELOPER_NAME!, websiteUrl: e.VIGIL_DEVELOPER_WEBSITE_URL!, privacyUrl: e.VIGIL_PRIVACY_URL!, termsOfUseUrl: e.VIGIL_TERMS_URL! },
      validDomains: [...new Set([publicHost, ...e.VIGIL_VALID_DOMAINS])],
    },
    problems: [],
  };
}

/** The committed manifest with the package's settings applied; pure, so tests check it without a zip. */
export function applyAppPackageSettings(manifest: Record<string, any>, s: AppPackageSettings): Record<string, any> {
  const m = structuredClone(manifest);
  if (s.appId) {
    m.id = s.appId;
    for (const bot of m.bots) bot.botId = s.appId;
  }
  if (s.developer) m.developer = { ...m.developer, ...s.developer };
  m.validDomains = s.validDomains;
  return m;
}
