import 'dotenv/config';
import fs from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';
import { applyAppPackageSettings, readAppPackageSettings } from './app-package-settings';
import { APP_PACKAGE, validateManifest } from './validate-manifest';

/**
 * `npm run package [-- --out <dir>]`: the Teams app package, `appPackage/build/vigil.zip`, from the
 * committed manifest and the bot's own settings (the environment and `.env`): app id, publisher,
 * links and valid domains. Refuses invalid settings or an invalid manifest, listing every problem.
 */
async function main() {
  const outFlag = process.argv.indexOf('--out');
  const out = outFlag > 0 && process.argv[outFlag + 1] ? path.resolve(process.argv[outFlag + 1]!) : path.join(APP_PACKAGE, 'build');
  const read = readAppPackageSettings(process.env);
  if (!('settings' in read)) {
    console.error(`The app package cannot be built; fix these settings (in .env or the environment):\n  - ${read.problems.join('\n  - ')}`);
    process.exit(1);
  }
  if (!read.settings.appId) {
    console.warn('MicrosoftAppId is not set: a sandbox package with the placeholder id and publisher, which will not reach a real bot.');
  }
  const manifest = applyAppPackageSettings(JSON.parse(fs.readFileSync(path.join(APP_PACKAGE, 'manifest.json'), 'utf8')), read.settings);
  const errors = validateManifest(manifest);
  if (errors.length > 0) {
    console.error(`The manifest is not valid:\n  - ${errors.join('\n  - ')}`);
    process.exit(1);
  }
  fs.mkdirSync(out, { recursive: true });
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'manifest.json');
  for (const icon of [manifest.icons.color, manifest.icons.outline]) zip.addFile(path.join(APP_PACKAGE, icon), icon);
  zip.end();
  const target = path.join(out, 'vigil.zip');
  await new Promise<void>((resolve, reject) => zip.outputStream.pipe(fs.createWriteStream(target)).on('close', resolve).on('error', reject));
  console.log(`wrote ${path.relative(process.cwd(), target) || target} (app id ${manifest.id}, valid domains: ${manifest.validDomains.join(', ') || 'none'})`);
}

void main();
