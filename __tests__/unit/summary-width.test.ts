/**
 * The summary of a realistic batch, measured the way GitHub lays out a job summary's table in its 1,000 px column.
 *
 * Width model (GitHub's markdown CSS: `table { display: block; width: max-content; max-width: 100%; overflow: auto }`,
 * `td, th { padding: 6px 13px }`, 14 px body text, 85% monospace for code):
 * - a column is as wide as its widest unbreakable line plus 13 px of padding on each side (26 px);
 * - a line breaks only at `<br>` (and, in body text, at spaces; a code span or a reference has none to break at);
 * - body text is ~7.5 px per character, text in inline code ~8.4 px per character, an emoji ~20 px;
 * - when the table is wider than 1,000 px the page scrolls it sideways: whatever ends past 1,000 px is hidden.
 * So the Target column is visible without scrolling when Status + Target end within 1,000 px.
 */
import { describe, expect, it } from '@jest/globals';
import { renderSummary, type ImageResult, type RunResult } from '../../src/engine/index.js';
import { TARGET_LINE_MAX, wrapRef } from '../../src/engine/report/summary.js';

const PAGE_PX = 1000;
const PADDING_PX = 13;
const TEXT_PX = 7.5;
const CODE_PX = 8.4;
const EMOJI_PX = 20;

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

/** The table's header and rows as raw cells, and the non-empty lines after it. */
function parse(markdown: string): { header: string[]; rows: string[][]; after: string[] } {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| '));
  let end = start;
  while (lines[end]?.startsWith('|')) end++;
  const cells = (l: string): string[] =>
    l
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim());
  return {
    header: cells(lines[start]!),
    rows: lines.slice(start + 2, end).map(cells),
    after: lines.slice(end).filter((l) => l.trim() !== ''),
  };
}

/** The text as shown: escapes and entities undone. */
function shown(html: string): string {
  return html
    .replace(/<[^>]+>/g, '')
    .replace(/\\(.)/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Width in px of one line of a cell (its `<br>`-separated part): code spans at the code width, the rest as text. */
function linePx(line: string): number {
  let px = 0;
  for (const [i, part] of line.split(/<\/?code>/).entries()) {
    const inCode = i % 2 === 1;
    for (const ch of shown(part)) {
      px += /\p{Extended_Pictographic}/u.test(ch)
        ? EMOJI_PX
        : /\uFE0F/.test(ch)
          ? 0
          : inCode
            ? CODE_PX
            : TEXT_PX;
    }
  }
  return px;
}

/** The narrowest a cell can be: its widest line that cannot break (body text may break at spaces). */
function cellPx(cell: string): number {
  return Math.max(
    0,
    ...cell.split('<br>').map((line) => {
      const codeOnly = line.replace(/<code>[\s\S]*?<\/code>/g, (m) => m.replace(/ /g, '\u00a0'));
      return Math.max(...codeOnly.split(' ').map((word) => linePx(word.replace(/\u00a0/g, ' '))));
    }),
  );
}

/** Where each column ends, in px from the table's left edge. */
function columnEnds(header: string[], rows: string[][]): number[] {
  const ends: number[] = [];
  let x = 0;
  for (let c = 0; c < header.length; c++) {
    x += 2 * PADDING_PX + Math.max(cellPx(header[c]!), ...rows.map((r) => cellPx(r[c] ?? '')));
    ends.push(Math.round(x));
  }
  return ends;
}

describe('summary of a realistic batch at 1,000 px', () => {
  const markdown = renderSummary(BATCH, { subtitle: 'acme/payments · import-images #1432' });
  const { header, rows, after } = parse(markdown);

  it('has Status first, then Target', () => {
    expect(header.slice(0, 2)).toEqual(['Status', 'Target']);
    expect(rows.map((r) => shown(r[0]!))).toEqual(['✅ imported', '✅ imported', '🔄 updated', '❌ failed']);
  });

  it('ends the Target column within 1,000 px, the long repository path included', () => {
    const ends = columnEnds(header, rows);
    expect(ends[1]).toBeLessThanOrEqual(PAGE_PX);
    // The model has teeth: on one line, the long target alone would take most of the page.
    expect(linePx(`<code>${LONG_TARGET}</code>`)).toBeGreaterThan(750);
    expect(rows[2]![1]!.split('<br>')).toHaveLength(2);
  });

  it('names each target without its registry in the table, and in full in the details', () => {
    expect(shown(rows[0]![1]!)).toBe('base/nginx:1.27');
    expect(shown(rows[2]![1]!.replace(/<br>/g, ''))).toBe(LONG_TARGET);
    expect(markdown).toContain(`into <code>${LOGIN}</code>`);
    expect(markdown).toContain(`<code>${LOGIN}/${LONG_TARGET}</code>`);
  });

  it('shortens the source given by digest in the table and writes it in full in the details', () => {
    const source = rows[1]![2]!.split('<br>');
    expect(shown(source[0]!)).toBe('…vices/payments-api@sha256:222222222222…');
    expect(shown(source[1]!)).toBe('sha256:222222222222');
    const details = after.slice(after.findIndex((l) => l.startsWith('<details>')));
    expect(details.join('\n')).toContain(`- <code>${BY_DIGEST}</code>: <code>${D2}</code>`);
  });

  it('puts the failure and its hint right under the table', () => {
    expect(shown(rows[3]![1]!)).toBe('—');
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
  const { header, rows } = parse(markdown);

  it('breaks it into lines after a slash or before the tag, each within the Target budget', () => {
    const ends = columnEnds(header, rows);
    expect(ends[1]).toBeLessThanOrEqual(PAGE_PX);
    const lines = rows[0]![1]!.split('<br>').map(shown);
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
