/**
 * The decisions of one image, as pure functions (data in, decision out, no I/O): which digest to pin, whether the
 * target already holds it (unchanged), must not be overwritten (conflict), or gets it (import / update), and what a
 * dry run, `wait: false` or a lock file make of that.
 */

/** What the source stage learnt about one image. */
export interface SourceFacts {
  /** How the user wrote the source (messages start with it). */
  label: string;
  /** The digest read from the source, or undefined when it was not read (not needed, or not reachable). */
  resolved: string | undefined;
  /** Why the source cannot be read from the runner, when it cannot. */
  unreachable: string | undefined;
  expectedDigest: string | undefined;
  /** pin-digest: true or strict. */
  pinDigest: boolean;
  /** pin-digest: strict. */
  pinStrict: boolean;
  /** A platform was asked for: its manifest digest is always imported. */
  platform: boolean;
  /** How the host spells setting an input (HostWording.setInput), e.g. `pin-digest: true` or `--pin-digest`. */
  setInput: (input: string, value: string) => string;
}

export type SourceDecision =
  /** Import `digest` (undefined: by tag); `note` says why the digest was not pinned. */
  | { outcome: 'pin'; digest: string | undefined; note?: string }
  /** The source must not be imported (`note`: why its digest was not read, when that was found first). */
  | { outcome: 'refuse'; message: string; hint: string; note?: string };

/** Which digest an image is imported at, or why it must not be imported. */
export function decideSource(f: SourceFacts): SourceDecision {
  let note: string | undefined;
  if (f.resolved === undefined && f.unreachable) {
    if (f.pinStrict) {
      return {
        outcome: 'refuse',
        message: `${f.label}: ${f.unreachable}, and ${f.setInput('pin-digest', 'strict')} refuses to import a source whose digest was not read before the import.`,
        hint: `Let the runner reach the source registry (DNS, firewall, proxy: HTTPS_PROXY / NO_PROXY), or set ${f.setInput('pin-digest', 'true')} to import by tag and read the digest from the target afterwards.`,
      };
    }
    note = `Imported by tag: ${f.unreachable}, so the digest was read from the target after the import instead of pinned before it.`;
  }
  if (f.expectedDigest) {
    if (!f.resolved) {
      return {
        outcome: 'refuse',
        message: `${f.label}: expected-digest ${f.expectedDigest} cannot be checked because the source cannot be read from the runner.`,
        hint: 'Make the source readable from the runner, or remove expected-digest.',
        ...(note === undefined ? {} : { note }),
      };
    }
    if (f.resolved !== f.expectedDigest) {
      return {
        outcome: 'refuse',
        message: `${f.label} now resolves to ${f.resolved}, not to the expected ${f.expectedDigest}.`,
        hint: 'The source changed since it was tested: promote the tested digest (source with @digest) or update expected-digest.',
      };
    }
  }
  const digest = f.pinDigest || f.platform ? f.resolved : undefined;
  return note === undefined ? { outcome: 'pin', digest } : { outcome: 'pin', digest, note };
}

/** One target reference and what it held before the import. */
export interface TargetFacts {
  /** `repo:tag`, or `repo` for an untagged repository. */
  key: string;
  /** undefined for an untagged repository. */
  tag: string | undefined;
  /** The digest it held (an untagged repository: the pinned digest when it holds that manifest), or undefined. */
  before: string | undefined;
}

export interface TargetDecisionInput {
  /** The pinned digest; undefined when imported by tag. */
  digest: string | undefined;
  /** The targets as read from the runner; undefined when the target registry cannot be read from here. */
  targets: readonly TargetFacts[] | undefined;
  /** Manifests of the index `digest` that a target lacks (`repo@digest`); empty when none or not an index. */
  missing: readonly string[];
  force: boolean;
  dryRun: boolean;
  wait: boolean;
  /** The host's way to say "set force to true" (e.g. `force: true`, `--force`). */
  setForce: string;
}

export type ImportMode = 'Force' | 'NoForce';

export type Decision =
  /** Every target holds the digest: nothing to import. */
  | { outcome: 'unchanged'; status: 'unchanged' | 'planned'; plan?: 'unchanged' }
  /** A target tag holds another image and force is off: fail, import nothing. */
  | { outcome: 'conflict'; message: string; hint: string }
  /** Import (a fresh import, or `update`: move tags that hold another image); a dry run only plans it. */
  | {
      outcome: 'import' | 'update';
      mode: ImportMode;
      status: 'imported' | 'updated' | 'planned' | 'submitted';
      plan?: 'import' | 'update';
      /** Why a target that held the digest is imported again. */
      note?: string;
    };

/** Every target holds `digest` (an untagged repository: the manifest is there by digest). */
export function targetsHoldDigest(digest: string, targets: readonly TargetFacts[]): boolean {
  return targets.every((t) => t.before === digest);
}

/** What to do with one image, from the target's state before the import. */
export function decideImport(i: TargetDecisionInput): Decision {
  const mode: ImportMode = i.force ? 'Force' : 'NoForce';
  let update = false;
  let note: string | undefined;
  if (i.digest && i.targets) {
    const held = targetsHoldDigest(i.digest, i.targets);
    if (held && i.missing.length > 0) {
      note = `The target held ${i.digest} but not ${i.missing.length} of its manifests (${i.missing.join(', ')}): imported it again to complete it.`;
    } else if (held) {
      return i.dryRun
        ? { outcome: 'unchanged', status: 'planned', plan: 'unchanged' }
        : { outcome: 'unchanged', status: 'unchanged' };
    }
    const moved = i.targets.filter(
      (t) => t.tag !== undefined && t.before !== undefined && t.before !== i.digest,
    );
    if (moved.length > 0) {
      if (!i.force) {
        const list = moved.map((t) => `${t.key} (now ${t.before})`).join(', ');
        const many = moved.length > 1;
        return {
          outcome: 'conflict',
          message: `Target tag${many ? 's' : ''} ${list} already exist${many ? '' : 's'} and point${many ? '' : 's'} to another image than ${i.digest}.`,
          hint: `Set ${i.setForce} to move the tags to the new digest, or import under a new tag.`,
        };
      }
      update = true;
    }
  }
  const outcome = update ? 'update' : 'import';
  const decision: Decision = i.dryRun
    ? { outcome, mode, status: 'planned', plan: outcome }
    : { outcome, mode, status: !i.wait ? 'submitted' : update ? 'updated' : 'imported' };
  if (note !== undefined) decision.note = note;
  return decision;
}

/** Why a source does not match its lock entry, or undefined when it does. */
export function lockDrift(
  source: string,
  digest: string | undefined,
  locked: string | undefined,
): string | undefined {
  if (!locked) return `${source} is not in the lock file.`;
  if (!digest) return `${source} cannot be resolved from the runner, so the lock cannot be checked.`;
  if (digest !== locked) return `${source} now resolves to ${digest}, the lock file says ${locked}.`;
  return undefined;
}

/** With `locked: true`: no image is imported when any source drifted; each image's error says why. */
export function lockDecision(
  checks: readonly { source: string; drift: string | undefined }[],
): { outcome: 'import' } | { outcome: 'refuse'; errors: string[]; hint: string } {
  const drifted = checks.filter((c) => c.drift);
  if (drifted.length === 0) return { outcome: 'import' };
  return {
    outcome: 'refuse',
    errors: checks.map(
      (c) =>
        c.drift ??
        `Not imported: ${drifted.length} source${drifted.length === 1 ? '' : 's'} drifted from the lock file (${drifted.map((d) => d.source).join(', ')}).`,
    ),
    hint: 'The sources changed since the lock file was written: review the change, then update the lock file (run with locked: false) or import the locked digests (source with @digest).',
  };
}
