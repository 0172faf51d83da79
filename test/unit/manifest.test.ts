import { execFileSync } from 'node:child_process';
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
    ['a command title over 128 characters', (m: any) => (m.bots[0].commandLists[0].commands[0].title = 'x'.repeat(129)), /\/bots\/0\/commandLists\/0\/commands\/0\/title must NOT have more than 128 characters/],
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

  it('suggests only chat commands the bot has, within Teams\' limit of 12', () => {
    const listed: string[] = manifest().bots[0].commandLists[0].commands.map((c: { title: string }) => c.title);
    expect(listed.length).toBeLessThanOrEqual(12);
    expect(listed.filter((c) => !Object.hasOwn(commands, c))).toEqual([]);
    expect(listed).toEqual(expect.arrayContaining(['help', 'incident', 'actions', 'block', 'isolate', 'disable', 'indicator']));
  });

  it('packages manifest and icons into a zip with the configured app id', () => {
    const appId = '608cacfd-1cea-40c9-b678-4b93e69bb72b';
    execFileSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/package-app.ts'], { cwd: ROOT, env: { ...process.env, MicrosoftAppId: appId }, stdio: 'pipe' });
    const zip = path.join(APP_PACKAGE, 'build/vigil.zip');
    const listing = execFileSync('python3', ['-c', 'import sys,zipfile,json; z=zipfile.ZipFile(sys.argv[1]); print(json.dumps({"names": sorted(z.namelist()), "manifest": json.loads(z.read("manifest.json"))}))', zip]).toString();
    const { names, manifest: packaged } = JSON.parse(listing);
    expect(names).toEqual(['color.png', 'manifest.json', 'outline.png']);
    expect(packaged.id).toBe(appId);
    expect(packaged.bots[0].botId).toBe(appId);
  });
});
