/**
 * The summary's table as GitHub shows it in a job summary (about 1,000 px wide): Status first, the target always
 * visible, long sources shortened in the table and written in full in the details, failures with their hints right
 * under the table.
 */
import { describe, expect, it } from '@jest/globals';
import { renderSummary, type ImageResult, type RunResult } from '../../src/engine/index.js';
import { shortRef, SOURCE_CELL_MAX } from '../../src/engine/report/summary.js';
import { columnEnds, PAGE_PX, parseTable, visible } from './summary-table.js';

const D = `sha256:${'e8'.repeat(32)}`;
const LOGIN = 'prodregistry.azurecr.io';

function image(over: Partial<ImageResult>): ImageResult {
  return {
    source: 'docker.io/library/nginx:1.27',
    sourceDigest: D,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    platforms: [
      { platform: 'linux/amd64', digest: D },
      { platform: 'linux/arm64/v8', digest: D },
    ],
    targets: [{ ref: `${LOGIN}/base/nginx:1.27`, digest: D }],
    status: 'imported',
    durationMs: 871,
    notes: [],
    ...over,
  };
}

function run(images: ImageResult[]): RunResult {
  return {
    registry: { name: 'prodregistry', loginServer: LOGIN, id: '/x' },
    images,
    ok: images.every((i) => i.status !== 'failed'),
    durationMs: 900,
    dryRun: false,
  };
}

describe('summary layout', () => {
  it('puts Status first and the target second', () => {
    const markdown = renderSummary(run([image({})]));
    const { header, rows } = parseTable(markdown);
    expect(header).toEqual(['Status', 'Target', 'Source and digest', 'Platforms', 'Duration']);
    expect(rows[0]![0]).toBe('✅ imported');
    // The registry is named above the table; the details have the full reference.
    expect(visible(rows[0]![1]!)).toBe('base/nginx:1.27');
    expect(markdown).toContain(`into <code>${LOGIN}</code>`);
    expect(markdown).toContain(`<code>${LOGIN}/base/nginx:1.27</code>`);
    expect(visible(rows[0]![2]!)).toBe('docker.io/library/nginx:1.27\nsha256:e8e8e8e8e8e8');
  });

  it('shortens a source given by digest in the table, and keeps it whole in the details', () => {
    const long = `ghcr.io/acme-corporation/platform/services/payments-api@${D}`;
    const markdown = renderSummary(run([image({ source: long })]));
    const { rows, after } = parseTable(markdown);
    const cell = visible(rows[0]![2]!).split('\n')[0]!;
    expect(cell.length).toBeLessThanOrEqual(SOURCE_CELL_MAX);
    expect(cell).toMatch(/^…/);
    expect(cell).toContain('@sha256:e8e8e8e8e8e8…');
    expect(after.join('\n')).toContain(`<code>${long.replace(/-/g, '-')}</code>`);
  });

  it('fits 1,000 px with a long digest source, many platforms and a long target', () => {
    const markdown = renderSummary(
      run([
        image({
          source: `registry.example.com/acme-corporation/platform/services/payments-api:2025.11.3@${D}`,
          targets: [{ ref: `${LOGIN}/mirror/acme/payments-api:2025.11.3`, digest: D }],
        }),
      ]),
    );
    const { header, rows } = parseTable(markdown);
    expect(columnEnds(header, rows).at(-1)).toBeLessThanOrEqual(PAGE_PX);
  });

  it('gives each failure its hint right under the table, before the details', () => {
    const markdown = renderSummary(
      run([
        image({}),
        image({
          source: 'docker.io/library/hello:nope',
          status: 'failed',
          targets: [],
          sourceDigest: undefined,
          error: 'docker.io/library/hello:nope was not found.',
          hint: 'Check the tag.',
        }),
      ]),
    );
    const { rows, after } = parseTable(markdown);
    expect(rows.map((r) => r[0])).toEqual(['✅ imported', '❌ failed']);
    expect(after[0]).toContain('failed: docker.io/library/hello:nope was not found.');
    expect(after[1]).toBe('> Check the tag.');
    expect(after[2]).toContain('<details>');
  });

  it('leaves short references alone', () => {
    expect(shortRef('docker.io/library/nginx:1.27')).toBe('docker.io/library/nginx:1.27');
    expect(shortRef(`nginx@${D}`)).toBe('nginx@sha256:e8e8e8e8e8e8…');
  });
});
