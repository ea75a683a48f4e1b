/**
 * Issue 13 items 10 and 13, through the bundle (`node dist/index.js`):
 *
 * - 10: remote error text with a lone CR (and CRLF, and URLs) reaches the job summary on one line, escaped, with its
 *   URLs as code rather than links;
 * - 13: a YAML bomb in images-file is a clear input error naming images-file (no stack trace); an invisible or
 *   look-alike character is named with its code point and column; an `INPUT_*` variable from the job's `env:` only
 *   warns, while a near miss of a real input fails with did-you-mean; the failure report's "Landed:" lists
 *   source -> target.
 *
 * Every error case asserts the exit code, the input, the value and the fix, and that the emulator saw no request.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { runAction, type ActionRun } from '../../testbed/run-action.js';
import { useBed } from '../bed-hooks.js';
import {
  expectFailure,
  expectSuccess,
  failureText,
  results,
  warnings,
  writeWorkspaceFile,
} from './scenario-helpers.js';

let bed: StartedBed;

useBed((started) => {
  bed = started;
});

const alpine = (): string => {
  const image = bed.sources.hub.images['ociSingle']!;
  return `${bed.sources.hub.host}/${image.repository}:${image.tag}`;
};

/** The line of an input error about `input`, checked to be an input error that made no request. */
async function inputErrorLine(run: ActionRun, input: string): Promise<string> {
  expect(run.exitCode).toBe(1);
  const error = failureText(run);
  if (!/^(Invalid input:|\d+ invalid inputs:)/.test(error)) {
    throw new Error(`not an input error:\n${run.stdout}\n${run.stderr}`);
  }
  const line = error.split('\n').find((l) => l.startsWith(`- ${input}`));
  if (!line) throw new Error(`no line for ${input} in:\n${error}`);
  // Nothing happened: no request to any emulated service, no outputs, no summary.
  expect((await bed.control.requests()).map((r) => `${r.service} ${r.method} ${r.url}`)).toEqual([]);
  expect(run.outputs['digest'] ?? '').toBe('');
  expect(run.summary).toBe('');
  return line;
}

describe('item 10: remote text in the summary', () => {
  it('a lone CR, a CRLF and URLs in an ARM error stay on one escaped line; URLs are code, not links', async () => {
    const message =
      'Operation registries-9 failed.\r===\rpwned heading\r\n---\r<h1>big</h1> details at https://evil.example/login?next=1 or [here](http://evil.example/x).';
    await bed.control.setFaults({
      failImports: { count: 1, code: 'InvalidParameters', message },
      retryAfter: 1,
    });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: alpine(),
      'target-tags': 'hostile/cr:1',
    });
    expectFailure(run);
    const summary = run.summary;
    expect(summary).toContain('Operation registries-9 failed.');
    // No line break of any kind survives from the remote text, so `===` / `---` cannot turn a line into a heading.
    expect(summary).not.toContain('\r');
    const errorLine = summary.split('\n').find((l) => l.includes('Operation registries-9 failed.'))!;
    expect(errorLine).toContain('failed. === pwned heading --- &lt;h1&gt;big&lt;/h1&gt;');
    expect(summary.split('\n').filter((l) => /^\s*(===|---|pwned|&lt;h1)/.test(l))).toEqual([]);
    // URLs as inline code, never a Markdown link or a bare (auto-linked) URL.
    expect(errorLine).toContain(
      'details at `https://evil.example/login?next=1` or \\[here\\]\\(`http://evil.example/x`\\)',
    );
    expect(summary.replace(/`[^`]*`/g, '')).not.toMatch(/https?:\/\/evil/);
  });
});

describe('item 13: messages', () => {
  it('a YAML bomb in images-file is one clear input error naming images-file, not a stack trace', async () => {
    const lol = Array.from({ length: 9 }, () => '"lol"').join(', ');
    const refs = (name: string): string => Array.from({ length: 9 }, () => `*${name}`).join(', ');
    await writeWorkspaceFile(
      bed,
      'bomb.yml',
      [
        `l0: &l0 [${lol}]`,
        ...Array.from({ length: 8 }, (_, i) => `l${i + 1}: &l${i + 1} [${refs(`l${i}`)}]`),
        'images:',
        `  - source: ${alpine()}`,
        `    targets: [${refs('l8')}]`,
        '',
      ].join('\n'),
    );
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), 'images-file': 'bomb.yml' },
      { timeoutMs: 60_000 },
    );
    expect(run.timedOut).toBe(false);
    const line = await inputErrorLine(run, 'images-file entry 1 (line 11)');
    expect(line).toContain('expands YAML aliases too often (more than 100 uses: a "billion laughs" file)');
    expect(line).toContain('write each entry out in full, without anchors (&) and aliases (*)');
    expect(line).toContain('(got "bomb.yml")');
    expect(run.stdout + run.stderr).not.toMatch(/ReferenceError|\n\s+at .+\(.*:\d+:\d+\)/);
  });

  it('an invisible character is named with its code point and column', async () => {
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      source: alpine(),
      'target-tags': 'apps/web:1\u200b',
    });
    const line = await inputErrorLine(run, 'target-tags');
    expect(line).toBe(
      '- target-tags: contains U+200B ZERO WIDTH SPACE at column 11, an invisible character (pasted with the value); delete it (got "apps/web:1\u200b")',
    );
  });

  it('a look-alike character in an images line is named', async () => {
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      images: `${alpine()} -> apps/w\u0435b:1`,
    });
    const line = await inputErrorLine(run, 'images line 1');
    const column = `${alpine()} -> apps/w`.length + 1;
    expect(line).toContain(
      `contains U+0435 CYRILLIC SMALL LETTER IE at column ${column}, which looks like 'e' but is not; type 'e' instead`,
    );
  });

  it("an INPUT_* variable from the job's env: warns and the import goes on", async () => {
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), source: alpine(), 'target-tags': 'hostile/env:1' },
      { env: { 'INPUT_SOME-OTHER-TOOL-SETTING': 'x', INPUT_TOKEN: 'not-ours' } },
    );
    expectSuccess(run);
    expect(results(run).map((r) => r.status)).toEqual(['imported']);
    expect(await bed.digestOf(bed.acrs.target, 'hostile/env', '1')).toBe(
      bed.sources.hub.images['ociSingle']!.digest,
    );
    const warned = warnings(run);
    expect(warned).toContain(
      "INPUT_SOME-OTHER-TOOL-SETTING is set, but 'some-other-tool-setting' is not an input of this action: ignored.",
    );
    expect(warned).toContain("INPUT_TOKEN is set, but 'token' is not an input of this action: ignored.");
    expect(run.stdout + run.stderr).not.toContain('not-ours');
  });

  it('a near miss of a real input still fails, with did-you-mean', async () => {
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), source: alpine(), 'target-tags': 'hostile/env:2' },
      { env: { INPUT_TIMOUT: '30s' } },
    );
    const line = await inputErrorLine(run, 'timout');
    expect(line).toBe(
      "- timout: is not an input of this action; did you mean 'timeout'? Rename it in the step's with: block (got \"***\")",
    );
  });

  it('"Landed:" lists source -> target', async () => {
    const hub = bed.sources.hub;
    const debian = hub.images['dockerSingle']!;
    await bed.control.setFaults({
      failImports: { count: 1, code: 'InvalidParameters', message: 'Error copying blobs' },
      retryAfter: 1,
    });
    const run = await runAction(bed, {
      ...bed.baseInputs(),
      'max-parallel': '1',
      images: [
        `${alpine()} -> landed/alpine:1`,
        `${hub.host}/${debian.repository}:${debian.tag} -> landed/debian:1, landed/debian:12`,
      ].join('\n'),
    });
    expectFailure(run);
    const target = bed.acrs.target.loginServer;
    expect(failureText(run)).toContain(
      `Landed:\n- ${hub.host}/${debian.repository}:${debian.tag} -> ${target}/landed/debian:1, ${target}/landed/debian:12: imported ${debian.digest}`,
    );
  });
});
