/**
 * The lock file: what each source resolved to, in a stable order, to commit and review. With `locked: true` a run
 * fails before importing anything when a source now resolves to another digest (drift).
 */
import { InputError } from '../errors.js';
import { maskedExcerpt } from '../config/workspace-files.js';
import type { RunResult } from './result.js';

export const LOCK_VERSION = 1;

export interface LockEntry {
  source: string;
  digest: string;
  mediaType: string | null;
  platforms: { platform: string; digest: string }[];
  targets: { ref: string; digest: string | null }[];
  /** `submitted` (wait: false): the import was accepted, its targets are not listed since they may not exist yet. */
  status?: 'submitted';
}

export interface LockFile {
  version: number;
  registry: string | null;
  images: LockEntry[];
}

/** The lock file for a run, as text: sorted by source, two-space JSON, trailing newline (diff-friendly). */
export function renderLockFile(run: RunResult): string {
  const images: LockEntry[] = run.images
    .filter((i) => i.status !== 'failed' && i.sourceDigest)
    .map((i) => ({
      source: i.source,
      digest: i.sourceDigest!,
      mediaType: i.mediaType ?? null,
      platforms: [...(i.platforms ?? [])].sort((a, b) => a.platform.localeCompare(b.platform)),
      targets:
        i.status === 'submitted'
          ? []
          : [...i.targets]
              .map((t) => ({ ref: t.ref, digest: t.digest ?? null }))
              .sort((a, b) => a.ref.localeCompare(b.ref)),
      ...(i.status === 'submitted' ? { status: 'submitted' as const } : {}),
    }))
    .sort((a, b) => a.source.localeCompare(b.source));
  const lock: LockFile = { version: LOCK_VERSION, registry: run.registry?.loginServer ?? null, images };
  return `${JSON.stringify(lock, null, 2)}\n`;
}

/** Reads a lock file's text; a malformed one is an input error naming the file. */
export function parseLockFile(text: string, path: string): Map<string, string> {
  const problem = (message: string): InputError =>
    new InputError([{ input: 'lock-file', value: path, message }]);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // JSON.parse quotes the text it choked on; say only where (the file may not be a lock file at all).
    throw problem(
      `is not valid JSON (${jsonErrorPlace(text, err)}); write it with lock-file and locked: false first`,
    );
  }
  const lock = doc as Partial<LockFile>;
  if (lock.version !== LOCK_VERSION || !Array.isArray(lock.images)) {
    throw problem(`is not an acr-import lock file of version ${LOCK_VERSION} (needs "version" and "images")`);
  }
  const digests = new Map<string, string>();
  lock.images.forEach((entry, i) => {
    if (
      typeof entry?.source !== 'string' ||
      typeof entry.digest !== 'string' ||
      !/^sha256:[a-f0-9]{64}$/.test(entry.digest)
    ) {
      throw problem(`entry ${i + 1} needs a "source" and a "digest" (sha256:<64 hex>)`);
    }
    digests.set(entry.source, entry.digest);
  });
  return digests;
}

/** Where JSON.parse failed, as `line 3, column 7, the line's shape: "xxx: xx"`, without the text itself. */
function jsonErrorPlace(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  const lineCol = /line (\d+) column (\d+)/.exec(message);
  const position = /position (\d+)/.exec(message);
  let line = 1;
  let column = 1;
  if (lineCol) {
    line = Number(lineCol[1]);
    column = Number(lineCol[2]);
  } else if (position) {
    const before = text.slice(0, Number(position[1]));
    line = before.split('\n').length;
    column = before.length - before.lastIndexOf('\n');
  } else if (/end of JSON input/i.test(message)) {
    return 'it ends too early';
  }
  const shape = maskedExcerpt(text.split(/\r?\n/)[line - 1] ?? '', column);
  return `line ${line}, column ${column}, the line's shape: ${JSON.stringify(shape)}`;
}
