import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { commands } from '../../src/bot/commands';
import { APP_PACKAGE, pngPixels, pngSize, validateManifest } from '../../scripts/validate-manifest';

const manifest = () => JSON.parse(fs.readFileSync(path.join(APP_PACKAGE, 'manifest.json'), 'utf8'));
const ROOT = path.resolve(__dirname, '../..');

describe('the Teams app package', () => {
  it('validates against the Teams manifest schema v1.29, icons included', () => {
    expect(validateManifest(manifest())).toEqual([]);
  });

  it.each([
    ['a bot without scopes', (m: any) => delete m.bots[0].scopes, /\/bots\/0 must have required property 'scopes'/],
    ['a bad manifestVersion', (m: any) => (m.manifestVersion = '1.18.5'), /\/manifestVersion/],
    ['an unknown scope', (m: any) => (m.bots[0].scopes = ['personal', 'everywhere']), /\/bots\/0\/scopes\/1 must be equal to one of the allowed values/],
    [
      'a command title over 128 characters',
      (m: any) => (m.bots[0].commandLists[0].commands[0].title = 'x'.repeat(129)),
      /\/bots\/0\/commandLists\/0\/commands\/0\/title must NOT have more than 128 characters/,
    ],
    ['a duplicate command', (m: any) => m.bots[0].commandLists[0].commands.push({ title: 'help', description: 'again' }), /has the command "help" twice/],
    ['a missing id', (m: any) => delete m.id, /must have required property 'id'/],
  ])('names what is wrong: %s', (_name, breakIt, message) => {
    const m = manifest();
    breakIt(m);
    expect(validateManifest(m).join('\n')).toMatch(message);
  });

  it('has a 192×192 colour icon and a 32×32 white-on-transparent outline', () => {
    expect(pngSize(fs.readFileSync(path.join(APP_PACKAGE, 'color.png')))).toEqual({ width: 192, height: 192 });
    const outline = fs.readFileSync(path.join(APP_PACKAGE, 'outline.png'));
    expect(pngSize(outline)).toEqual({ width: 32, height: 32 });
    const px = pngPixels(outline);
    const kinds = new Set<string>();
    for (let i = 0; i < px.length; i += 4) kinds.add(px[i + 3] === 0 ? 'transparent' : `${px[i]},${px[i + 1]},${px[i + 2]},${px[i + 3]}`);
    expect([...kinds].sort()).toEqual(['255,255,255,255', 'transparent']);
  });

  it("suggests only chat commands the bot has, within Teams' limit of 12", () => {
    const listed: string[] = manifest().bots[0].commandLists[0].commands.map((c: { title: string }) => c.title);
    expect(listed.length).toBeLessThanOrEqual(12);
    expect(listed.filter((c) => !Object.hasOwn(commands, c))).toEqual([]);
    expect(listed).toEqual(expect.arrayContaining(['help', 'incident', 'actions', 'block', 'isolate', 'disable', 'indicator']));
  });

  const APP_ID = '608cacfd-1cea-40c9-b678-4b93e69bb72b';
  const TENANT_SETTINGS = [
    `MicrosoftAppId=${APP_ID}`,
    'VIGIL_PUBLIC_URL=https://vigil-contoso.azurewebsites.net',
    'VIGIL_DEVELOPER_NAME=Contoso SOC',
    'VIGIL_DEVELOPER_WEBSITE_URL=https://soc.contoso.com',
    'VIGIL_PRIVACY_URL=https://soc.contoso.com/privacy',
    'VIGIL_TERMS_URL=https://soc.contoso.com/terms',
    'VIGIL_VALID_DOMAINS=soc.contoso.com',
  ];

  /** `npm run package` from a folder holding `.env`, with nothing about the app in the environment. */
  const packageFrom = (dotenv: string[]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-package-'));
    fs.writeFileSync(path.join(dir, '.env'), `${dotenv.join('\n')}\n`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MicrosoftApp|VIGIL_)/.test(k)));
    const run = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), [path.join(ROOT, 'scripts/package-app.ts'), '--out', dir], { cwd: dir, env, encoding: 'utf8' });
    return { dir, status: run.status, output: `${run.stdout}${run.stderr}` };
  };

  it('packages manifest and icons with the app id, publisher, links and valid domains from .env', () => {
    const { dir, status, output } = packageFrom(TENANT_SETTINGS);
    expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining('vigil.zip') });
    const listing = execFileSync('python3', [
      '-c',
      'import sys,zipfile,json; z=zipfile.ZipFile(sys.argv[1]); print(json.dumps({"names": sorted(z.namelist()), "manifest": json.loads(z.read("manifest.json"))}))',
      path.join(dir, 'vigil.zip'),
    ]).toString();
    const { names, manifest: packaged } = JSON.parse(listing);
    expect(names).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(packaged.id).toBe(APP_ID);
    expect(packaged.bots[0].botId).toBe(APP_ID);
    expect(packaged.developer).toEqual({ name: 'Contoso SOC', websiteUrl: 'https://soc.contoso.com', privacyUrl: 'https://soc.contoso.com/privacy', termsOfUseUrl: 'https://soc.contoso.com/terms' });
    expect(packaged.validDomains).toEqual(['vigil-contoso.azurewebsites.net', 'soc.contoso.com']);
    expect(validateManifest(packaged)).toEqual([]);
  });

  it('refuses a tenant package with placeholder or missing publisher settings, naming each', () => {
    const { status, output } = packageFrom([
      `MicrosoftAppId=${APP_ID}`,
      'VIGIL_PUBLIC_URL=http://vigil-contoso.azurewebsites.net',
      'VIGIL_DEVELOPER_WEBSITE_URL=https://vigil.example.com',
      'VIGIL_VALID_DOMAINS=https://soc.contoso.com/x',
    ]);
    expect(status).toBe(1);
    expect(output).toMatch(/VIGIL_PUBLIC_URL: must be an https:\/\/ URL/);
    expect(output).toMatch(/VIGIL_DEVELOPER_WEBSITE_URL: is still a placeholder/);
    expect(output).toMatch(/VIGIL_VALID_DOMAINS: must be a comma-separated list of host names/);
    const missing = packageFrom([`MicrosoftAppId=${APP_ID}`]);
    expect(missing.status).toBe(1);
    for (const name of ['VIGIL_PUBLIC_URL', 'VIGIL_DEVELOPER_NAME', 'VIGIL_DEVELOPER_WEBSITE_URL', 'VIGIL_PRIVACY_URL', 'VIGIL_TERMS_URL'])
      expect(missing.output).toContain(`${name}: required with MicrosoftAppId`);
  });
});
