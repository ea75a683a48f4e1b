/**
 * The job summary, rendered from a run's result as Markdown. Every value that comes from a user or a remote service
 * is escaped, so a crafted tag or error text cannot inject markup, links or HTML into the summary.
 */
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
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_{}[\]()#+!|~])/g, '\\$1')
    .replace(/\r?\n/g, ' ');
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
  for (const image of run.images) {
    const targets = image.targets.length ? image.targets : [{ ref: '—', digest: undefined }];
    for (const target of targets) {
      lines.push(
        `| ${statusCell(image)} | ${target.ref === '—' ? '—' : code(inRegistry(target.ref))} | ${code(shortRef(image.source))}<br>${shortDigest(image.sourceDigest)} | ${platforms(image)} | ${duration(image.durationMs)} |`,
      );
    }
  }
  lines.push('');
  // Each failure with its hint, right under the table.
  for (const image of failed) {
    lines.push(
      `**${escapeMarkdown(image.source)}** failed: ${escapeMarkdown(image.error ?? 'unknown error')}`,
      '',
    );
    if (image.hint) lines.push(`> ${escapeMarkdown(image.hint)}`, '');
  }
  const digests = run.images.filter((i) => i.sourceDigest && i.status !== 'failed');
  if (digests.length) {
    lines.push('<details><summary>Full sources, digests and targets</summary>', '');
    for (const image of digests) {
      const targets = image.targets.map((t) => code(t.ref)).join(', ');
      lines.push(`- ${code(image.source)}: ${code(image.sourceDigest!)}${targets ? ` → ${targets}` : ''}`);
    }
    lines.push('', '</details>', '');
  }
  const noted = run.images.filter((i) => i.notes.length);
  for (const image of noted) {
    for (const note of image.notes)
      lines.push(`> [!NOTE]`, `> ${escapeMarkdown(image.source)}: ${escapeMarkdown(note)}`, '');
  }
  return lines.join('\n');
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
