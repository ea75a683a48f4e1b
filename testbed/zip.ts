/**
 * A small zip reader for tests (a .vsix is a zip): reads the central directory at the end of the file, then each
 * entry's data after its local header; stored (0) and deflated (8) entries, no zip64, no encryption. Entry names are
 * checked so that unpacking can never write outside the target folder.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** Uncompressed bytes (empty for a folder entry). */
  data: Buffer;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export function readZip(zip: Buffer): ZipEntry[] {
  // The end-of-central-directory record is the last 22 bytes, or more with a comment (at most 65535 bytes).
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip file: no end of central directory record');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== CENTRAL) throw new Error(`zip: bad central directory entry ${n}`);
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (flags & 1) throw new Error(`zip: ${name} is encrypted`);
    if (zip.readUInt32LE(local) !== LOCAL) throw new Error(`zip: bad local header of ${name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`zip: ${name} uses compression method ${method}`);
    if (data.length !== size) throw new Error(`zip: ${name} unpacked to ${data.length} bytes, not ${size}`);
    entries.push({ name, data });
  }
  return entries;
}

/** Unpacks `file` into `dir`; returns the entries. Names that would leave `dir` (`../x`, `/x`) are refused. */
export async function unzipTo(file: string, dir: string): Promise<ZipEntry[]> {
  const entries = readZip(await readFile(file));
  for (const entry of entries) {
    const relative = normalize(entry.name);
    if (relative.startsWith('..') || relative.startsWith(sep) || /^[A-Za-z]:/.test(relative)) {
      throw new Error(`zip: entry ${entry.name} would be written outside the folder`);
    }
    const target = join(dir, relative);
    if (entry.name.endsWith('/')) {
      await mkdir(target, { recursive: true });
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, entry.data);
  }
  return entries;
}
