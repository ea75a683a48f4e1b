/**
 * The summary of a realistic batch, measured the way GitHub lays out a job summary's table in its 1,000 px column
 * (the width model is in summary-table.ts). The Target column is visible without scrolling when Status + Target end
 * within 1,000 px.
 */ import { describe, expect, it } from '@jest/globals';
import { renderSummary, type ImageResult, type RunResult } from '../../src/engine/index.js';
import { TARGET_LINE_MAX, wrapRef } from '../../src/engine/report/summary.js';
import { columnEnds, linePx, PAGE_PX, parseTable, visible } from './summary-table.js';

const LOGIN = 'contosoprodregistry.azurecr.io';
const hex = (c: string): string => c.repeat(64);
const D1 = `sha256:${hex('1')}`;
const D2 = `sha256:${hex('2')}`;
const D3 = `sha256:${hex('3')}`;
const INDEX = 'application/vnd.oci.image.index.v1+json';
const BY_DIGEST = `ghcr.io/acme-corporation/platform/services/payments-api@${D2}`;
const LONG_REPO = 'mirror/acme-corporation/platform/services/payments-gateway/reconciliation-worker';
const LONG_TARGET = `${LONG_REPO}:2025.11.3-rc.1`;

function image(over: Partial<ImageResult>): ImageResult {
  return {
    source: 'docker.io/library/nginx:1.27',
    sourceDigest: D1,
    mediaType: INDEX,
    platforms: [
      { platform: 'linux/amd64', digest: D1 },
      { platform: 'linux/arm64/v8', digest: D1 },
    ],
    targets: [{ ref: `${LOGIN}/base/nginx:1.27`, digest: D1 }],
    status: 'imported',
    durationMs: 4_812,
    notes: [],
    ...over,
  };
}

/** nginx by tag, a source given by digest, a target with a long repository path (force: a moved tag), a failure. */
const BATCH: RunResult = {
  registry: { name: 'contosoprodregistry', loginServer: LOGIN, id: '/subscriptions/x' },
  images: [
    image({}),
    image({
      source: BY_DIGEST,
      sourceDigest: D2,
      targets: [
        { ref: `${LOGIN}/mirror/acme-corporation/platform/services/payments-api:2025.11.3`, digest: D2 },
      ],
    }),
    image({
      source: `registry.example.com/acme-corporation/platform/services/payments-gateway/reconciliation-worker:2025.11.3-rc.1`,
      sourceDigest: D3,
      targets: [{ ref: `${LOGIN}/${LONG_TARGET}`, digest: D3 }],
      status: 'updated',
      platforms: [
        { platform: 'linux/amd64', digest: D3 },
        { platform: 'linux/arm64/v8', digest: D3 },
        { platform: 'linux/s390x', digest: D3 },
      ],
    }),
    image({
      source: 'docker.io/library/hello-world:does-not-exist',
      sourceDigest: undefined,
      mediaType: undefined,
      platforms: undefined,
      targets: [],
      status: 'failed',
      kind: 'not-found',
      error: 'Source image docker.io/library/hello-world:does-not-exist was not found on docker.io.',
      hint: 'Check the tag; Docker Hub official images live under library/.',
    }),
  ],
  ok: false,
  durationMs: 61_400,
  dryRun: false,
};

describe('summary of a realistic batch at 1,000 px', () => {
  const markdown = renderSummary(BATCH, { subtitle: 'acme/payments · import-images #1432' });
  const { header, rows, after } = parseTable(markdown);

  it('has Status first, then Target', () => {
    expect(header.slice(0, 2)).toEqual(['Status', 'Target']);
    expect(rows.map((r) => visible(r[0]!))).toEqual([
      '✅ imported',
      '✅ imported',
      '🔄 updated',
      '❌ failed',
    ]);
  });

  it('ends the Target column within 1,000 px, the long repository path included', () => {
    const ends = columnEnds(header, rows);
    expect(ends[1]).toBeLessThanOrEqual(PAGE_PX);
    // The model has teeth: on one line, the long target alone would take most of the page.
    expect(linePx(`<code>${LONG_TARGET}</code>`)).toBeGreaterThan(750);
    expect(rows[2]![1]!.split('<br>')).toHaveLength(2);
  });

  it('names each target without its registry in the table, and in full in the details', () => {
    expect(visible(rows[0]![1]!)).toBe('base/nginx:1.27');
    expect(visible(rows[2]![1]!.replace(/<br>/g, ''))).toBe(LONG_TARGET);
    expect(markdown).toContain(`into <code>${LOGIN}</code>`);
    expect(markdown).toContain(`<code>${LOGIN}/${LONG_TARGET}</code>`);
  });

  it('shortens the source given by digest in the table and writes it in full in the details', () => {
    const source = rows[1]![2]!.split('<br>');
    expect(visible(source[0]!)).toBe('…vices/payments-api@sha256:222222222222…');
    expect(visible(source[1]!)).toBe('sha256:222222222222');
    const details = after.slice(after.findIndex((l) => l.startsWith('<details>')));
    expect(details.join('\n')).toContain(`- <code>${BY_DIGEST}</code>: <code>${D2}</code>`);
  });

  it('puts the failure and its hint right under the table', () => {
    expect(visible(rows[3]![1]!)).toBe('—');
    expect(after[0]).toBe(
      '**docker.io/library/hello-world:does-not-exist** failed: Source image docker.io/library/hello-world:does-not-exist was not found on docker.io.',
    );
    expect(after[1]).toBe('> Check the tag; Docker Hub official images live under library/.');
    expect(after[2]).toBe('<details><summary>Full sources, digests and targets</summary>');
  });
});

describe('a target of any length stays visible', () => {
  // The longest a reference can be: a 255-character repository path and a 128-character tag.
  const repo = Array.from({ length: 16 }, (_, i) => `team-${String(i).padStart(2, '0')}-services`)
    .join('/')
    .slice(0, 255)
    .replace(/[/-]+$/, '');
  const tag = 'v'.repeat(128);
  const ref = `${repo}:${tag}`;
  const run: RunResult = {
    ...BATCH,
    images: [
      image({ targets: [{ ref: `${LOGIN}/${ref}`, digest: D1 }], status: 'planned', plan: 'unchanged' }),
    ],
  };
  const markdown = renderSummary(run);
  const { header, rows } = parseTable(markdown);

  it('breaks it into lines after a slash or before the tag, each within the Target budget', () => {
    const ends = columnEnds(header, rows);
    expect(ends[1]).toBeLessThanOrEqual(PAGE_PX);
    const lines = rows[0]![1]!.split('<br>').map(visible);
    expect(lines.join('')).toBe(ref);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(TARGET_LINE_MAX);
    expect(lines.some((l) => l.startsWith(':v'))).toBe(true);
    expect(markdown).toContain(`<code>${LOGIN}/${ref}</code>`);
  });

  it.each<[string, number, string[]]>([
    ['base/nginx:1.27', 64, ['base/nginx:1.27']],
    ['a/bb/ccc:tag', 6, ['a/bb/', 'ccc', ':tag']],
    ['team/app@sha256:abcdef', 10, ['team/app', '@sha256', ':abcdef']],
    ['abcdefghij/k', 4, ['abcd', 'efgh', 'ij/k']],
  ])('wrapRef(%s, %s)', (text, max, expected) => {
    expect(wrapRef(text, max)).toEqual(expected);
  });
});
