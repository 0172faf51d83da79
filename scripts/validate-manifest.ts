import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const ROOT = path.resolve(__dirname, '..');
/** The newest Teams manifest schema available offline, bundled by @microsoft/app-manifest. */
export const SCHEMA_PATH = path.join(ROOT, 'node_modules/@microsoft/app-manifest/build/json-schemas/teams/v1.29/MicrosoftTeams.schema.json');
export const APP_PACKAGE = path.join(ROOT, 'appPackage');

const ICON_SIZES = { color: 192, outline: 32 } as const;

let validateSchema: ReturnType<Ajv['compile']> | undefined;

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.subarray(1, 4).toString('ascii') !== 'PNG') throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** RGBA pixels of an 8-bit RGBA, non-interlaced PNG (what `make-icons` writes). */
export function pngPixels(png: Buffer): Buffer {
  const { width, height } = pngSize(png);
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('ascii');
    if (type === 'IHDR' && (png[at + 16] !== 8 || png[at + 17] !== 6)) throw new Error('only 8-bit RGBA PNGs are checked');
    if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  const out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= 4 ? out[y * stride + i - 4]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= 4 && y > 0 ? out[(y - 1) * stride + i - 4]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter!] ?? 0;
      out[y * stride + i] = (x + predictor) & 0xff;
    }
  }
  return out;
}

/**
 * Every problem with a manifest and its icons: the Teams schema, plus what the schema cannot say
 * (icon sizes, a white-on-transparent outline, unique command titles). Empty when valid.
 */
export function validateManifest(manifest: unknown, dir = APP_PACKAGE): string[] {
  if (!validateSchema) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv as never);
    validateSchema = ajv.compile(JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8')));
  }
  const errors: string[] = [];
  if (!validateSchema(manifest)) {
    for (const e of validateSchema.errors ?? [])
      errors.push(`${e.instancePath || '(manifest)'} ${e.message}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as string[]).join(', ')})` : ''}`);
  }
  const m = manifest as { icons?: Record<string, string>; bots?: Array<{ commandLists?: Array<{ scopes: string[]; commands: Array<{ title: string }> }> }> };
  for (const [kind, size] of Object.entries(ICON_SIZES)) {
    const file = m.icons?.[kind];
    if (!file) continue;
    const full = path.join(dir, file);
    if (!fs.existsSync(full)) {
      errors.push(`/icons/${kind} ${file} is missing`);
      continue;
    }
    const png = fs.readFileSync(full);
    const { width, height } = pngSize(png);
    if (width !== size || height !== size) errors.push(`/icons/${kind} must be ${size}×${size}, is ${width}×${height}`);
    if (kind === 'outline') {
      const px = pngPixels(png);
      for (let i = 0; i < px.length; i += 4) {
        const transparent = px[i + 3] === 0;
        const white = px[i] === 255 && px[i + 1] === 255 && px[i + 2] === 255;
        if (!transparent && !white) {
          errors.push('/icons/outline must be white on a transparent background');
          break;
        }
      }
    }
  }
  for (const [b, bot] of (m.bots ?? []).entries()) {
    for (const [l, list] of (bot.commandLists ?? []).entries()) {
      const titles = list.commands.map((c) => c.title);
      const dup = titles.find((t, i) => titles.indexOf(t) !== i);
      if (dup) errors.push(`/bots/${b}/commandLists/${l} has the command "${dup}" twice`);
    }
  }
  return errors;
}
