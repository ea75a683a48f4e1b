/**
 * The decisions of one image as tables: which digest is imported (decideSource), what happens to the target
 * (decideImport: unchanged / conflict / import / update, in a dry run and with wait: false), and the lock file's
 * verdict (lockDrift, lockDecision). Pure functions: no fakes, no clock, data in and decision out.
 */
import { describe, expect, test } from '@jest/globals';
import {
  decideImport,
  decideSource,
  lockDecision,
  lockDrift,
  type Decision,
  type SourceDecision,
  type SourceFacts,
  type TargetDecisionInput,
  type TargetFacts,
} from '../../src/engine/run/decision.js';
import { importFailureHint } from '../../src/engine/report/hints.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

const tag = (key: string, before?: string): TargetFacts => ({ key, tag: key.split(':')[1], before });
const untagged = (key: string, before?: string): TargetFacts => ({ key, tag: undefined, before });

test('decideSource spells inputs the way the host does (the CLI: flags)', () => {
  const cli = (input: string, value: string): string =>
    value === 'true' ? `--${input}` : `--${input} ${value}`;
  const d = decideSource({
    label: 'nginx:1.27',
    resolved: undefined,
    unreachable: 'docker.io cannot be reached from the runner (no DNS answer)',
    expectedDigest: undefined,
    pinDigest: true,
    pinStrict: true,
    setInput: cli,
    platform: false,
  });
  expect(d.outcome).toBe('refuse');
  if (d.outcome !== 'refuse') return;
  expect(d.message).toContain('and --pin-digest strict refuses');
  expect(d.hint).toContain('or set --pin-digest to import by tag');
  expect(`${d.message} ${d.hint}`).not.toContain('pin-digest:');
  // The same for the hint of an import by tag that met an existing tag.
  const hint = importFailureHint('Conflict', 'Tag v1 already exists', true, cli);
  expect(hint).toContain('set --pin-digest so a tag');
  expect(hint).toContain('or --force to overwrite');
});

describe('decideImport', () => {
  const base: TargetDecisionInput = {
    digest: A,
    targets: [tag('app:1')],
    missing: [],
    force: false,
    dryRun: false,
    wait: true,
    setForce: 'force: true',
  };
  const conflict = (message: string): Decision => ({
    outcome: 'conflict',
    message,
    hint: 'Set force: true to move the tags to the new digest, or import under a new tag.',
  });

  test.each<[string, Partial<TargetDecisionInput>, Decision]>([
    ['a new tag: import', {}, { outcome: 'import', mode: 'NoForce', status: 'imported' }],
    [
      'the tag holds the digest: unchanged',
      { targets: [tag('app:1', A)] },
      { outcome: 'unchanged', status: 'unchanged' },
    ],
    [
      'every tag and untagged repository holds it: unchanged',
      { targets: [tag('app:1', A), tag('app:latest', A), untagged('mirror', A)] },
      { outcome: 'unchanged', status: 'unchanged' },
    ],
    [
      'an untagged repository lacks it: import',
      { targets: [tag('app:1', A), untagged('mirror')] },
      { outcome: 'import', mode: 'NoForce', status: 'imported' },
    ],
    [
      'one of two tags holds it, the other is new: import',
      { targets: [tag('app:1', A), tag('app:2')] },
      { outcome: 'import', mode: 'NoForce', status: 'imported' },
    ],
    [
      'the tag holds another image, no force: conflict',
      { targets: [tag('app:1', B)] },
      conflict(`Target tag app:1 (now ${B}) already exists and points to another image than ${A}.`),
    ],
    [
      'two tags hold another image: conflict naming both',
      { targets: [tag('app:1', B), tag('app:2', B), tag('app:3')] },
      conflict(
        `Target tags app:1 (now ${B}), app:2 (now ${B}) already exist and point to another image than ${A}.`,
      ),
    ],
    [
      'the tag holds another image, force: update',
      { targets: [tag('app:1', B)], force: true },
      { outcome: 'update', mode: 'Force', status: 'updated' },
    ],
    [
      'force and a new tag: import with mode Force',
      { force: true },
      { outcome: 'import', mode: 'Force', status: 'imported' },
    ],
    [
      'held, but the index lost a platform manifest: import again, with a note',
      { targets: [tag('app:1', A)], missing: [`app@${B}`] },
      {
        outcome: 'import',
        mode: 'NoForce',
        status: 'imported',
        note: `The target held ${A} but not 1 of its manifests (app@${B}): imported it again to complete it.`,
      },
    ],
    [
      'unpinned (imported by tag): always import, whatever the tag holds',
      { digest: undefined, targets: [tag('app:1', B)] },
      { outcome: 'import', mode: 'NoForce', status: 'imported' },
    ],
    [
      'the target cannot be read from here: import',
      { targets: undefined },
      { outcome: 'import', mode: 'NoForce', status: 'imported' },
    ],
    [
      'dry run, held: planned unchanged',
      { targets: [tag('app:1', A)], dryRun: true },
      { outcome: 'unchanged', status: 'planned', plan: 'unchanged' },
    ],
    [
      'dry run, new tag: planned import',
      { dryRun: true },
      { outcome: 'import', mode: 'NoForce', status: 'planned', plan: 'import' },
    ],
    [
      'dry run, force over another image: planned update',
      { targets: [tag('app:1', B)], dryRun: true, force: true },
      { outcome: 'update', mode: 'Force', status: 'planned', plan: 'update' },
    ],
    [
      'dry run does not hide a conflict',
      { targets: [tag('app:1', B)], dryRun: true },
      conflict(`Target tag app:1 (now ${B}) already exists and points to another image than ${A}.`),
    ],
    ['wait: false: submitted', { wait: false }, { outcome: 'import', mode: 'NoForce', status: 'submitted' }],
    [
      'wait: false, held: still unchanged (nothing is submitted)',
      { wait: false, targets: [tag('app:1', A)] },
      { outcome: 'unchanged', status: 'unchanged' },
    ],
    [
      'wait: false with force over another image: submitted',
      { wait: false, force: true, targets: [tag('app:1', B)] },
      { outcome: 'update', mode: 'Force', status: 'submitted' },
    ],
  ])('%s', (_what, over, expected) => {
    expect(decideImport({ ...base, ...over })).toEqual(expected);
  });

  test('the conflict hint uses the host wording for force', () => {
    const d = decideImport({ ...base, targets: [tag('app:1', B)], setForce: '--force' });
    expect(d).toMatchObject({ outcome: 'conflict', hint: expect.stringContaining('Set --force to move') });
  });
});

describe('decideSource', () => {
  const base: SourceFacts = {
    label: 'nginx:1.27',
    resolved: A,
    unreachable: undefined,
    expectedDigest: undefined,
    pinDigest: true,
    pinStrict: false,
    setInput: (input: string, value: string) => `${input}: ${value}`,
    platform: false,
  };
  const unreachable = 'docker.io cannot be reached from the runner (no DNS answer)';
  const byTag = `Imported by tag: ${unreachable}, so the digest was read from the target after the import instead of pinned before it.`;

  test.each<[string, Partial<SourceFacts>, SourceDecision]>([
    ['resolved, pin-digest: true: pin it', {}, { outcome: 'pin', digest: A }],
    ['pin-digest: false: import by tag', { pinDigest: false }, { outcome: 'pin', digest: undefined }],
    [
      'pin-digest: false with a platform: the platform manifest is pinned',
      { pinDigest: false, platform: true },
      { outcome: 'pin', digest: A },
    ],
    [
      'not reachable: by tag, with a note',
      { resolved: undefined, unreachable },
      { outcome: 'pin', digest: undefined, note: byTag },
    ],
    [
      'not reachable, pin-digest: strict: refused',
      { resolved: undefined, unreachable, pinStrict: true },
      {
        outcome: 'refuse',
        message: `nginx:1.27: ${unreachable}, and pin-digest: strict refuses to import a source whose digest was not read before the import.`,
        hint: 'Let the runner reach the source registry (DNS, firewall, proxy: HTTPS_PROXY / NO_PROXY), or set pin-digest: true to import by tag and read the digest from the target afterwards.',
      },
    ],
    ['expected-digest matches: pin it', { expectedDigest: A }, { outcome: 'pin', digest: A }],
    [
      'expected-digest differs: refused',
      { expectedDigest: B },
      {
        outcome: 'refuse',
        message: `nginx:1.27 now resolves to ${A}, not to the expected ${B}.`,
        hint: 'The source changed since it was tested: promote the tested digest (source with @digest) or update expected-digest.',
      },
    ],
    [
      'expected-digest, source not reachable: refused, keeping the by-tag note',
      { expectedDigest: B, resolved: undefined, unreachable },
      {
        outcome: 'refuse',
        message: `nginx:1.27: expected-digest ${B} cannot be checked because the source cannot be read from the runner.`,
        hint: 'Make the source readable from the runner, or remove expected-digest.',
        note: byTag,
      },
    ],
  ])('%s', (_what, over, expected) => {
    expect(decideSource({ ...base, ...over })).toEqual(expected);
  });
});

describe('lock file', () => {
  test.each<[string, string | undefined, string | undefined, string | undefined]>([
    ['matches', A, A, undefined],
    ['drifted', B, A, `nginx:1.27 now resolves to ${B}, the lock file says ${A}.`],
    ['not in the lock file', A, undefined, 'nginx:1.27 is not in the lock file.'],
    [
      'not resolvable from here',
      undefined,
      A,
      'nginx:1.27 cannot be resolved from the runner, so the lock cannot be checked.',
    ],
  ])('lockDrift: %s', (_what, digest, locked, expected) => {
    expect(lockDrift('nginx:1.27', digest, locked)).toBe(expected);
  });

  test.each<[string, { source: string; drift: string | undefined }[], ReturnType<typeof lockDecision>]>([
    ['none drifted: import', [{ source: 'a:1', drift: undefined }], { outcome: 'import' }],
    [
      'one drifted: nothing is imported, the others say why',
      [
        { source: 'a:1', drift: 'a:1 now resolves to x' },
        { source: 'b:1', drift: undefined },
      ],
      {
        outcome: 'refuse',
        errors: ['a:1 now resolves to x', 'Not imported: 1 source drifted from the lock file (a:1).'],
        hint: expect.stringContaining('update the lock file (run with locked: false)') as unknown as string,
      },
    ],
    [
      'two drifted: the count is plural',
      [
        { source: 'a:1', drift: 'x' },
        { source: 'b:1', drift: 'y' },
        { source: 'c:1', drift: undefined },
      ],
      {
        outcome: 'refuse',
        errors: ['x', 'y', 'Not imported: 2 sources drifted from the lock file (a:1, b:1).'],
        hint: expect.any(String) as unknown as string,
      },
    ],
  ])('lockDecision: %s', (_what, checks, expected) => {
    expect(lockDecision(checks)).toEqual(expected);
  });
});
