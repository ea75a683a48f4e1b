/**
 * The one rule for files a user names in an input (`images-file`, `lock-file`): they live in the workspace (the
 * Action: `GITHUB_WORKSPACE`; the CLI: the current directory, unless its explicit flag allows outside), they are
 * regular files of at most 1 MiB, and nothing in `.git/` (where actions/checkout keeps the token). Real paths are
 * compared, so `../`, absolute paths and symlinks cannot leave the workspace; a write replaces the file by rename and
 * never follows a symlink out. Errors name the input, the path and the fix, and never quote the file's contents.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import type { WorkspaceRules } from '../ports.js';

export type { WorkspaceRules } from '../ports.js';

/** The largest file an input may name (an images file of 5,000 entries is about 400 KiB). */
export const MAX_INPUT_FILE_BYTES = 1024 * 1024;

/**
 * Reads a file an input names, under the rules; throws an `InputError` for `input` when it may not or cannot.
 * `missing` replaces the message for a file that does not exist (e.g. how to create it).
 */
export function readWorkspaceFile(
  rules: WorkspaceRules,
  input: string,
  given: string,
  opts: { missing?: string } = {},
): string {
  const fail = failer(input, given);
  const real = resolveExisting(rules, given, fail, 'read', opts.missing);
  const max = rules.maxBytes ?? MAX_INPUT_FILE_BYTES;
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the path was resolved, a new link is a race.
    fd = openSync(real, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0));
  } catch (err) {
    return fail(`cannot be opened (${errorCode(err)}); check the file's permissions`);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return fail(notRegular(stats));
    if (stats.size > max) return fail(tooLarge(stats.size, max));
    const buffer = Buffer.alloc(Math.min(stats.size, max) + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > max) return fail(tooLarge(length, max));
      if (length === buffer.length) break;
    }
    const bytes = buffer.subarray(0, length);
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      return fail('is not UTF-8 text; save it as UTF-8 (YAML or JSON)');
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Where a write to the file an input names would go, checked under the rules before anything runs: the real path of
 * an existing regular file, or a new file in a directory that is (or will be created) inside the root.
 */
export function checkWorkspaceWrite(rules: WorkspaceRules, input: string, given: string): string {
  const fail = failer(input, given);
  const abs = absolute(rules, given, fail);
  let stats: Stats | undefined;
  try {
    stats = lstatSync(abs);
  } catch {
    stats = undefined;
  }
  if (stats) {
    const real = resolveExisting(rules, given, fail, 'write');
    const target = lstatSync(real);
    if (!target.isFile()) return fail(notRegular(target));
    return real;
  }
  // A new file: the deepest directory that exists decides where it lands.
  let existing = path.dirname(abs);
  const missing: string[] = [path.basename(abs)];
  for (;;) {
    try {
      lstatSync(existing);
      break;
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return fail('cannot be written: no directory of its path exists');
      missing.unshift(path.basename(existing));
      existing = parent;
    }
  }
  let realDir: string;
  try {
    realDir = realpathSync(existing);
  } catch (err) {
    return fail(`cannot be written (${errorCode(err)}): its directory cannot be resolved`);
  }
  if (!lstatSync(realDir).isDirectory()) return fail(`cannot be written: ${existing} is not a directory`);
  const real = path.join(realDir, ...missing);
  checkPlace(rules, real, fail);
  return real;
}

/** Writes the file an input names, under the rules: to a new temporary file beside it, then renamed over it. */
export function writeWorkspaceFile(
  rules: WorkspaceRules,
  input: string,
  given: string,
  text: string,
): string {
  const real = checkWorkspaceWrite(rules, input, given);
  mkdirSync(path.dirname(real), { recursive: true });
  // The rename replaces whatever is at `real` (even a symlink planted since the check) instead of writing through it.
  const temp = path.join(path.dirname(real), `.${path.basename(real)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, text, { flag: 'wx', mode: 0o644 });
    renameSync(temp, real);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  return real;
}

// ---------------------------------------------------------------------------------------------------------------------

type Fail = (message: string) => never;

function failer(input: string, given: string): Fail {
  return (message) => {
    throw new InputError([{ input, value: given, message }]);
  };
}

function absolute(rules: WorkspaceRules, given: string, fail: Fail): string {
  if (given === '' || /[\0\r\n]/.test(given)) return fail('must be one file path');
  return path.resolve(rules.root, given);
}

function resolveExisting(
  rules: WorkspaceRules,
  given: string,
  fail: Fail,
  use: 'read' | 'write',
  missing?: string,
): string {
  const abs = absolute(rules, given, fail);
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT') {
      let link = false;
      try {
        link = lstatSync(abs).isSymbolicLink();
      } catch {
        // not there at all
      }
      return fail(
        link
          ? 'is a symlink to a file that does not exist; point it at a file in the repository, or give that path'
          : use === 'write'
            ? 'cannot be written'
            : (missing ??
              `cannot be read: it does not exist in ${rules.rootName}; give a path relative to it, and check out the repository before this step`),
      );
    }
    return fail(`cannot be ${use === 'read' ? 'read' : 'written'} (${code})`);
  }
  checkPlace(rules, real, fail);
  return real;
}

/** Inside the root (unless allowed), and not in `.git/`. */
function checkPlace(rules: WorkspaceRules, real: string, fail: Fail): void {
  let root: string;
  try {
    root = realpathSync(rules.root);
  } catch {
    return fail(`cannot be used: ${rules.rootName} (${rules.root}) does not exist`);
  }
  const relative = path.relative(root, real);
  const up = relative === '..' || relative.startsWith(`..${path.sep}`);
  const inside = relative === '' || (!up && !path.isAbsolute(relative));
  if (!inside && !rules.allowOutside) {
    const allow = rules.allowOutsideHint ? `, or ${rules.allowOutsideHint}` : '';
    return fail(
      `is outside ${rules.rootName}: it resolves to ${real}; keep the file in the repository and give its path relative to ${rules.root}${allow}`,
    );
  }
  const segments = (inside ? relative : real).split(/[\\/]/);
  if (segments.some((s) => s.toLowerCase() === '.git')) {
    return fail(
      "is inside .git/, which holds the repository's credentials (actions/checkout keeps its token there); give a file of the working tree",
    );
  }
}

function notRegular(stats: Stats): string {
  const kind = stats.isDirectory()
    ? 'a directory'
    : stats.isFIFO()
      ? 'a named pipe (FIFO)'
      : stats.isCharacterDevice()
        ? 'a character device'
        : stats.isBlockDevice()
          ? 'a block device'
          : stats.isSocket()
            ? 'a socket'
            : 'not a regular file';
  return `is ${kind}, not a regular file; give the path of a YAML or JSON file`;
}

function tooLarge(size: number, max: number): string {
  return `is larger than ${formatBytes(max)} (${size > max ? `at least ${formatBytes(size)}` : formatBytes(size)}); split the images over several steps or files`;
}

function formatBytes(n: number): string {
  const mib = 1024 * 1024;
  if (n >= mib) return n % mib === 0 ? `${n / mib} MiB` : `${(n / mib).toFixed(1)} MiB`;
  return n >= 1024 ? `${(n / 1024).toFixed(0)} KiB` : `${n} bytes`;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}

// ---------------------------------------------------------------------------------------------------------------------
// What an error may quote from a file

const EXCERPT_LENGTH = 40;

/**
 * A line of a file as an error may show it: YAML punctuation and spaces kept, every letter, digit and other
 * character replaced by `x`, at most 40 characters around `column` (1-based). Shows the shape of a syntax error
 * without the content (a file that is not an images file may hold a password).
 */
export function maskedExcerpt(line: string, column = 1): string {
  const masked = [...line.replace(/\t/g, ' ')]
    .map((ch) => (/[\s:\-[\]{},#&*!|>'"%@`?]/.test(ch) ? ch : 'x'))
    .join('');
  const start = Math.max(0, Math.min(column - 1 - EXCERPT_LENGTH / 2, masked.length - EXCERPT_LENGTH));
  const cut = masked.slice(start, start + EXCERPT_LENGTH).trimEnd();
  return `${start > 0 ? '…' : ''}${cut}${start + EXCERPT_LENGTH < masked.length ? '…' : ''}`;
}
