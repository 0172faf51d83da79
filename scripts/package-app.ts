import fs from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';
import { APP_PACKAGE, validateManifest } from './validate-manifest';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `npm run package`: the Teams app package, `appPackage/build/vigil.zip`, with the bot's app id
 * from `MicrosoftAppId` (the committed manifest holds a placeholder id). Refuses an invalid one.
 */
async function main() {
  const manifest = JSON.parse(fs.readFileSync(path.join(APP_PACKAGE, 'manifest.json'), 'utf8'));
  const appId = process.env.MicrosoftAppId?.trim();
  if (appId && !GUID.test(appId)) {
    console.error(`MicrosoftAppId must be a GUID (got "${appId}")`);
    process.exit(1);
  }
  if (appId) {
    manifest.id = appId;
    for (const bot of manifest.bots) bot.botId = appId;
  } else {
    console.warn('MicrosoftAppId is not set: the package keeps the placeholder id and will not reach a real bot.');
  }
  const errors = validateManifest(manifest);
  if (errors.length > 0) {
    console.error(`appPackage/manifest.json is not valid:\n  - ${errors.join('\n  - ')}`);
    process.exit(1);
  }
  const out = path.join(APP_PACKAGE, 'build');
  fs.mkdirSync(out, { recursive: true });
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'manifest.json');
  for (const icon of [manifest.icons.color, manifest.icons.outline]) zip.addFile(path.join(APP_PACKAGE, icon), icon);
  zip.end();
  const target = path.join(out, 'vigil.zip');
  await new Promise<void>((resolve, reject) => zip.outputStream.pipe(fs.createWriteStream(target)).on('close', resolve).on('error', reject));
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}

void main();
