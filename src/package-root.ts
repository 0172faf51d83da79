import fs from 'node:fs';
import path from 'node:path';

const PACKAGE_NAME = 'vigil';

/**
 * The folder that holds Vigil's package.json: the nearest one above `from`. The same answer from
 * `src/` under tsx and from `dist/src/` after a build, so assets (`cards/`, `queries/`,
 * `appPackage/`) are found the same way in both. Throws when run from outside a Vigil package.
 */
export function findPackageRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && readName(manifest) === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no ${PACKAGE_NAME} package.json above ${from}: Vigil's assets (cards/, queries/) ship beside it`);
  }
}

const readName = (file: string): unknown => {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined;
  }
};

let root: string | undefined;

/** A path inside the installed package, e.g. `assetPath('cards', 'incident.json')`. */
export const assetPath = (...parts: string[]): string => path.join((root ??= findPackageRoot(__dirname)), ...parts);
