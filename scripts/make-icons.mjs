// Draws the extension's icons as PNG files, the same bytes every time (no timestamps, fixed zlib level):
// azure-pipelines/images/extension-icon.png (128x128, the Marketplace tile) and azure-pipelines/AcrImportV1/icon.png
// (32x32, the task in the pipeline editor). Run `node scripts/make-icons.mjs` after changing the drawing; commit both.
import { writeFileSync, mkdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';
import { Buffer } from 'node:buffer';

const BLUE = [0, 120, 212];
const WHITE = [255, 255, 255];

/** A white arrow down into a tray on a blue rounded square: "import into a registry". */
function pixel(x, y, size) {
  const u = (x + 0.5) / size;
  const v = (y + 0.5) / size;
  const r = 0.18;
  const cx = Math.min(Math.max(u, r), 1 - r);
  const cy = Math.min(Math.max(v, r), 1 - r);
  if ((u - cx) ** 2 + (v - cy) ** 2 > r * r) return null; // outside the rounded square: transparent
  const shaft = Math.abs(u - 0.5) < 0.07 && v > 0.18 && v < 0.52;
  const head = v >= 0.45 && v < 0.66 && Math.abs(u - 0.5) < 0.66 - v;
  const tray =
    (v > 0.72 && v < 0.8 && u > 0.22 && u < 0.78) ||
    (u > 0.22 && u < 0.3 && v > 0.58 && v < 0.8) ||
    (u > 0.7 && u < 0.78 && v > 0.58 && v < 0.8);
  return shaft || head || tray ? WHITE : BLUE;
}

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function png(size) {
  const rows = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0, then RGBA
    for (let x = 0; x < size; x++) {
      const color = pixel(x, y, size);
      if (color) row.set([...color, 255], 1 + x * 4);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ACR_IMPORT_ICONS_OUT: another folder to write into (the unit test compares its output with the committed files).
const root = process.env.ACR_IMPORT_ICONS_OUT
  ? pathToFileURL(`${process.env.ACR_IMPORT_ICONS_OUT.replace(/\/+$/, '')}/`)
  : new URL('../azure-pipelines/', import.meta.url);
mkdirSync(new URL('images/', root), { recursive: true });
mkdirSync(new URL('AcrImportV1/', root), { recursive: true });
writeFileSync(new URL('images/extension-icon.png', root), png(128));
writeFileSync(new URL('AcrImportV1/icon.png', root), png(32));
