import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

/**
 * Draws the app's two icons (a shield with an eye) and writes them as PNGs, so the package needs
 * no image tools: `npx tsx scripts/make-icons.ts`. Teams wants a 192×192 colour icon and a 32×32
 * white-on-transparent outline.
 */
type Pixel = [number, number, number, number];

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf: Buffer) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type: string, data: Buffer) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
};

export function encodePng(size: number, pixel: (x: number, y: number) => Pixel): Buffer {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) Buffer.from(pixel(x, y)).copy(raw, y * (size * 4 + 1) + 1 + x * 4);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** In unit coordinates (0..1): inside the shield, and inside the eye's white and its pupil. */
const inShield = (u: number, v: number) => {
  if (v < 0.12 || v > 0.9) return false;
  const half = v < 0.55 ? 0.36 : 0.36 * Math.sqrt(Math.max(0, 1 - ((v - 0.55) / 0.35) ** 2));
  return Math.abs(u - 0.5) <= half;
};
const inEye = (u: number, v: number) => ((u - 0.5) / 0.22) ** 2 + ((v - 0.47) / 0.12) ** 2 <= 1;
const inPupil = (u: number, v: number) => (u - 0.5) ** 2 + (v - 0.47) ** 2 <= 0.065 ** 2;

const colour =
  (size: number) =>
  (x: number, y: number): Pixel => {
    const u = (x + 0.5) / size;
    const v = (y + 0.5) / size;
    if (!inShield(u, v)) return [0x1f, 0x3a, 0x93, 255];
    if (inPupil(u, v)) return [0x1f, 0x3a, 0x93, 255];
    if (inEye(u, v)) return [255, 255, 255, 255];
    return [0x4f, 0x7c, 0xe8, 255];
  };

const outline =
  (size: number) =>
  (x: number, y: number): Pixel => {
    const u = (x + 0.5) / size;
    const v = (y + 0.5) / size;
    const edge = inShield(u, v) && !inShield(0.5 + (u - 0.5) * 1.25, 0.12 + (v - 0.12) * 1.12);
    return edge || (inEye(u, v) && !inPupil(u, v)) ? [255, 255, 255, 255] : [0, 0, 0, 0];
  };

if (require.main === module) {
  const dir = path.resolve(__dirname, '../appPackage');
  fs.writeFileSync(path.join(dir, 'color.png'), encodePng(192, colour(192)));
  fs.writeFileSync(path.join(dir, 'outline.png'), encodePng(32, outline(32)));
  console.log('wrote appPackage/color.png (192×192) and appPackage/outline.png (32×32)');
}
