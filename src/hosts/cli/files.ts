/**
 * Where the CLI lets a user path (images-file, lock-file) point: inside the current directory, unless the user passes
 * --allow-outside-cwd. One function, so that the shared workspace-confinement module can take its place.
 */
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

export interface Confinement {
  root: string;
  allowOutside: boolean;
}

/** The path to open for `file`, or an error saying why it may not be opened and what to do. */
export function confinePath(file: string, rules: Confinement): string {
  const full = path.resolve(rules.root, file);
  if (rules.allowOutside) return full;
  const root = realpathSync(rules.root);
  // Follow symbolic links of the part that exists: a link inside the directory may point out of it.
  let existing = full;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const real = path.join(realpathSync(existing), path.relative(existing, full));
  const rel = path.relative(root, real);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return full;
  throw new Error(
    `is outside the current directory (${root}); run acr-import from a directory that contains it, or pass --allow-outside-cwd`,
  );
}
