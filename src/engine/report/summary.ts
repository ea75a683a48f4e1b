/**
 * The job summary, rendered from a run's result as Markdown. Every value that comes from a user or a remote service
 * is escaped, so a crafted tag or error text cannot inject markup, links or HTML into the summary.
 */
import { describeReferrerCounts } from './referrers.js';
import type { ImageResult, ImageStatus, RunResult } from './result.js';

const STATUS_LABEL: Record<ImageStatus, string> = {
  imported: '✅ imported',
  updated: '🔄 updated',
  unchanged: '⏸️ unchanged',
  planned: '📝 planned',
  submitted: '📤 submitted',
  failed: '❌ failed',
};

/** Escapes text for a Markdown table cell (or paragraph): no HTML, no links, no emphasis, no cell breaks. */
export function escapeMarkdown(text: string): string {
  return (
    text
      // Every line break first, a lone CR too (Markdown ends a line there: a setext `===` would make a heading).
      .replace(/\r\n?|[\n\u2028\u2029\u0085]/g, ' ')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1')
  );
}

/** A URL in remote text: up to whitespace, quotes, brackets or a pipe; trailing punctuation is not part of it. */
const URL_IN_TEXT = /\b(?:(?:https?|ftp|file):\/\/|www\.)[^\s<>"'`|()[\]{}\\]*[^\s<>"'`|()[\]{}\\.,;:!?]/gi;

/**
 * Escapes text from users and remote services like `escapeMarkdown`, with every URL in it as inline code: shown, never
 * a link (GitHub would otherwise link a bare `https://...` in an error, and a crafted error could point anywhere).
 */
export function escapeRemoteText(text: string): string {
  const flat = text.replace(/\r\n?|[\n\u2028\u2029\u0085]/g, ' ');
  let out = '';
  let last = 0;
  for (const match of flat.matchAll(URL_IN_TEXT)) {
    out += escapeMarkdown(flat.slice(last, match.index));
    // A code span shows its text literally: no HTML, no links (the pattern stops at `|` and backticks).
    out += `\`${match[0]}\``;
    last = match.index + match[0].length;
  }
  return out + escapeMarkdown(flat.slice(last));
}

function code(text: string): string {
  // An HTML <code> element, not a backtick span: Markdown still applies inside it (`:_v1_` would turn italic, `|`
  // would end the table cell), and so do backslash escapes, which render as the plain character. Escape it all.
  return `<code>${escapeMarkdown(text)}</code>`;
}

function shortDigest(digest: string | undefined): string {
  if (!digest) return '—';
  const [algo, hex] = digest.split(':');
  return hex ? code(`${algo}:${hex.slice(0, 12)}`) : code(digest);
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export interface SummaryContext {
  /** Shown under the title: e.g. the workflow run, or the CLI invocation. */
  subtitle?: string;
}

/**
 * GitHub drops a job summary over 1 MiB. Beyond these many rows (and failures, notes, digests) the summary shows
 * counts instead: 5,000 images make about 100 KiB, not 1.7 MB. The `results` output still lists every image.
 */
export const SUMMARY_LIMITS = { rows: 300, failures: 50, notes: 50, digests: 300 } as const;
/** A hard stop under GitHub's 1 MiB, whatever the texts are (in UTF-16 units, at most 3 bytes of UTF-8 each). */
const SUMMARY_MAX_CHARS = 340_000;

export function renderSummary(run: RunResult, context: SummaryContext = {}): string {
  const lines: string[] = [];
  const failed = run.images.filter((i) => i.status === 'failed');
  const title = run.dryRun
    ? 'ACR import plan (dry run)'
    : failed.length
      ? `ACR import: ${failed.length} of ${run.images.length} failed`
      : `ACR import: ${run.images.length} image${run.images.length === 1 ? '' : 's'} done`;
  lines.push(`## ${title}`, '');
  const where = run.registry ? `into ${code(run.registry.loginServer)}` : '';
  lines.push(
    `${where}${where ? ' ' : ''}in ${duration(run.durationMs)}${context.subtitle ? ` · ${escapeMarkdown(context.subtitle)}` : ''}`,
    '',
  );
  // Status first and the target next (its registry is named above), so both show without scrolling at GitHub's width
  // (about 1,000 px); a long source (one given by digest) is shortened here and written in full in the details.
  const inRegistry = (ref: string): string =>
    run.registry && ref.startsWith(`${run.registry.loginServer}/`)
      ? ref.slice(run.registry.loginServer.length + 1)
      : ref;
  lines.push(
    '| Status | Target | Source and digest | Platforms | Duration |',
    '| --- | --- | --- | --- | --- |',
  );
  let rows = 0;
  const shown = new Set<ImageResult>();
  for (const image of run.images) {
    if (rows >= SUMMARY_LIMITS.rows) break;
    shown.add(image);
    const targets = image.targets.length ? image.targets : [{ ref: '—', digest: undefined }];
    for (const target of targets) {
      rows++;
      lines.push(
        `| ${statusCell(image)} | ${target.ref === '—' ? '—' : targetCell(inRegistry(target.ref))} | ${code(shortRef(image.source))}<br>${shortDigest(image.sourceDigest)}${image.referrers?.length ? `<br>${escapeMarkdown(describeReferrerCounts(image.referrers))}` : ''} | ${platforms(image)} | ${duration(image.durationMs)} |`,
      );
    }
  }
  const hidden = run.images.filter((i) => !shown.has(i));
  if (hidden.length) {
    const hiddenRows = hidden.reduce((n, i) => n + Math.max(1, i.targets.length), 0);
    lines.push(
      `| ${statusCounts(hidden)} | … ${count(hidden.length, 'more image')} (${count(hiddenRows, 'row')}) | | | |`,
    );
  }
  lines.push('');
  if (hidden.length) {
    lines.push(
      `${count(run.images.length, 'image')} in all: ${statusCounts(run.images)}. The first ${shown.size} are listed; the \`results\` output has every one.`,
      '',
    );
  }
  // Each failure with its hint, right under the table.
  for (const image of failed.slice(0, SUMMARY_LIMITS.failures)) {
    lines.push(
      `**${escapeMarkdown(image.source)}** failed: ${escapeRemoteText(image.error ?? 'unknown error')}`,
      '',
    );
    if (image.hint) lines.push(`> ${escapeRemoteText(image.hint)}`, '');
  }
  if (more(lines, failed.length - SUMMARY_LIMITS.failures, 'failed image')) lines.push('');
  const digests = run.images.filter((i) => i.sourceDigest && i.status !== 'failed');
  if (digests.length) {
    lines.push('<details><summary>Full sources, digests and targets</summary>', '');
    for (const image of digests.slice(0, SUMMARY_LIMITS.digests)) {
      const targets = image.targets.map((t) => code(t.ref)).join(', ');
      lines.push(`- ${code(image.source)}: ${code(image.sourceDigest!)}${targets ? ` → ${targets}` : ''}`);
    }
    more(lines, digests.length - SUMMARY_LIMITS.digests, 'digest');
    lines.push('', '</details>', '');
  }
  lines.push(...referrerList(run.images));
  const notes = run.images.flatMap((i) => i.notes.map((note) => ({ image: i, note })));
  for (const { image, note } of notes.slice(0, SUMMARY_LIMITS.notes))
    lines.push(`> [!NOTE]`, `> ${escapeMarkdown(image.source)}: ${escapeRemoteText(note)}`, '');
  if (more(lines, notes.length - SUMMARY_LIMITS.notes, 'note')) lines.push('');
  const text = lines.join('\n');
  if (text.length <= SUMMARY_MAX_CHARS) return text;
  const cut = text.lastIndexOf('\n', SUMMARY_MAX_CHARS);
  return `${text.slice(0, cut)}\n\n… the summary is cut here (a job summary holds at most 1 MiB); the \`results\` output has every image.\n`;
}

/** `4,700 more images`. */
function count(n: number, what: string): string {
  return `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
}

/** `1 failed, 4,999 planned`. */
function statusCounts(images: readonly ImageResult[]): string {
  const counts = new Map<ImageStatus, number>();
  for (const image of images) counts.set(image.status, (counts.get(image.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${n.toLocaleString('en-US')} ${status}`).join(', ');
}

/** `- … and 12 more failed images (see the results output)`, when `count` > 0. */
function more(lines: string[], n: number, what: string): boolean {
  if (n <= 0) return false;
  lines.push(`- … and ${count(n, `more ${what}`)} (the \`results\` output has them all)`);
  return true;
}

/** Every referrer copied (or planned) with each image: digest, type, status. */
function referrerList(images: readonly ImageResult[]): string[] {
  const withReferrers = images.filter((i) => i.referrers?.length).slice(0, SUMMARY_LIMITS.rows);
  if (!withReferrers.length) return [];
  const lines = ['<details><summary>Referrers (signatures, SBOMs, attestations)</summary>', ''];
  for (const image of withReferrers) {
    for (const r of image.referrers!) {
      lines.push(
        `- ${code(image.source)}: ${shortDigest(r.digest)} ${escapeMarkdown(r.artifactType)}${r.tag ? ` (tag ${code(r.tag)})` : ''} → ${shortDigest(r.subject)}: ${escapeMarkdown(r.status)}`,
      );
    }
  }
  lines.push('', '</details>', '');
  return lines;
}

function statusCell(image: ImageResult): string {
  const base = STATUS_LABEL[image.status];
  return image.plan ? `${base} (${image.plan})` : base;
}

function platforms(image: ImageResult): string {
  if (image.artifactType) return escapeMarkdown(kind(image.artifactType));
  if (!image.platforms?.length) return image.mediaType ? escapeMarkdown(kind(image.mediaType)) : '—';
  return image.platforms.map((p) => escapeMarkdown(p.platform)).join('<br>');
}

function kind(mediaType: string): string {
  if (mediaType.includes('helm')) return 'Helm chart';
  if (mediaType.endsWith('manifest.v1+json') || mediaType.endsWith('manifest.v2+json'))
    return 'single platform';
  return mediaType;
}

/**
 * Longest line of a target in the table. A longer one (a deep repository path, a long tag) breaks after a `/` or
 * before its `:tag`, so Status and Target stay within GitHub's 1,000 px page at any length; the details list it whole.
 */
export const TARGET_LINE_MAX = 64;

function targetCell(ref: string): string {
  return wrapRef(ref, TARGET_LINE_MAX).map(code).join('<br>');
}

/** `ref` in lines of at most `max` characters, broken after a `/` or before a `:` or `@` where it can be. */
export function wrapRef(ref: string, max: number): string[] {
  if (ref.length <= max) return [ref];
  const pieces = ref.match(/[^/:@]*\/|[:@][^/:@]*|[^/:@]+/g) ?? [ref];
  const lines: string[] = [];
  let line = '';
  for (let piece of pieces) {
    if (line.length + piece.length > max && line) {
      lines.push(line);
      line = '';
    }
    while (piece.length > max) {
      lines.push(piece.slice(0, max));
      piece = piece.slice(max);
    }
    line += piece;
  }
  if (line) lines.push(line);
  return lines;
}

/** Longest source shown in the table; the details list it in full. */
export const SOURCE_CELL_MAX = 40;

/**
 * A source as the table shows it: a digest cut to 12 hex digits, and a reference still longer than SOURCE_CELL_MAX
 * kept by its end (the repository and tag say more than the host).
 */
export function shortRef(ref: string): string {
  const short = ref.replace(/@(sha256:[0-9a-f]{12})[0-9a-f]{52}\b/, '@$1…');
  return short.length > SOURCE_CELL_MAX ? `…${short.slice(short.length - SOURCE_CELL_MAX + 1)}` : short;
}
