/**
 * Issue 13 item 12, through the bundle (`node dist/index.js`): an images-file of 5,000 entries gives a job summary
 * under GitHub's 1 MiB (rows beyond the first few hundred collapsed into counts) and registers a handful of masks
 * (one per distinct secret, not one token per image); 5,000 invalid entries give one error listing the first 50 and
 * a count of the rest, before any request.
 *
 * The 5,000 images are a dry run (each source resolved and each target checked, nothing imported): the summary and
 * the masks are the same as for a real run, without 5,000 server-side copies.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { runAction } from '../../testbed/run-action.js';
import { useBed } from '../bed-hooks.js';
import { expectSuccess, failureText, importCalls, results, writeWorkspaceFile } from './scenario-helpers.js';

let bed: StartedBed;

useBed((started) => {
  bed = started;
});

const N = 5000;

describe('5,000 entries in images-file', () => {
  it('make a summary under 1 MiB with collapsed rows and counts, and a handful of masks', async () => {
    const hub = bed.sources.hub;
    const alpine = hub.images['ociSingle']!;
    const lines = ['images:'];
    for (let i = 0; i < N; i++) {
      lines.push(
        `  - source: ${hub.host}/${alpine.repository}:${alpine.tag}`,
        `    targets: [bulk/alpine:t-${i}]`,
      );
    }
    await writeWorkspaceFile(bed, 'many.yml', `${lines.join('\n')}\n`);
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), 'images-file': 'many.yml', 'dry-run': 'true', 'max-parallel': '32' },
      { timeoutMs: 300_000 },
    );
    expectSuccess(run);
    const all = results(run);
    expect(all).toHaveLength(N);
    expect(all.every((r) => r.status === 'planned' && r.sourceDigest === alpine.digest)).toBe(true);
    expect(await importCalls(bed)).toEqual([]);

    const bytes = Buffer.byteLength(run.summary);
    expect(bytes).toBeLessThan(1024 * 1024);
    expect(bytes).toBeLessThan(200 * 1024);
    const rows = run.summary.split('\n').filter((l) => l.startsWith('| <code>'));
    expect(rows).toHaveLength(300);
    expect(run.summary).toContain('| … 4,700 more images (4,700 rows) | | | | 4,700 planned | |');
    expect(run.summary).toContain('5,000 images in all: 5,000 planned. The first 300 are listed');
    expect(run.summary).toContain('- … and 4,700 more digests');

    // One token serves every image of the run: a few masks (ID token, ARM and registry tokens), not one per image.
    expect(run.masks.length).toBeLessThanOrEqual(10);
    // The source's anonymous pull token is no secret (anyone gets the same): not masked. The target's tokens are.
    const issued = await bed.control.issuedSecrets();
    const anonymous = issued.filter((t) => {
      const claims = JSON.parse(Buffer.from(t.split('.')[1] ?? '', 'base64url').toString() || '{}') as {
        sub?: string;
        access?: unknown;
        iss?: string;
      };
      return claims.access !== undefined && claims.sub === '' && claims.iss !== 'Azure Container Registry';
    });
    expect(anonymous.length).toBeGreaterThan(0);
    expect(run.masks.filter((m) => anonymous.includes(m))).toEqual([]);
    // And the source registry was asked for a token once, not 5,000 times.
    const hubTokens = (await bed.control.requests({ service: 'hubauth' })).length;
    expect(hubTokens).toBeLessThanOrEqual(2);
    console.log(
      `5,000 images: summary ${bytes} bytes, ${run.masks.length} masks, ${hubTokens} hub token requests, ${run.durationMs} ms`,
    );
  }, 320_000);

  it('that are all invalid give one error: the first 50, then a count', async () => {
    const lines: string[] = [];
    for (let i = 0; i < N; i++) lines.push(`- source: 127.0.0.1:1/Library/Alpine:${i}`);
    await writeWorkspaceFile(bed, 'bad-many.yml', `${lines.join('\n')}\n`);
    const run = await runAction(bed, { ...bed.baseInputs(), 'images-file': 'bad-many.yml' });
    expect(run.exitCode).toBe(1);
    const error = failureText(run);
    const errorLines = error.split('\n');
    expect(errorLines[0]).toBe('5000 invalid inputs:');
    const listed = errorLines.filter((l) => l.startsWith('- images-file entry '));
    expect(listed).toHaveLength(50);
    expect(listed[0]).toBe(
      "- images-file entry 1 (line 1): repository 'Library/Alpine' has upper-case letters; use lowercase: 'library/alpine' (got \"127.0.0.1:1/Library/Alpine:0\")",
    );
    expect(errorLines.at(-1)).toBe('… and 4950 more (fix the ones above, then run again to see the rest)');
    expect(error.length).toBeLessThan(20_000);
    expect((await bed.control.requests()).map((r) => `${r.service} ${r.method} ${r.url}`)).toEqual([]);
    expect(run.summary).toBe('');
  });
});
