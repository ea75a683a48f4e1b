/**
 * The job summary's table as GitHub shows it, for the summary tests: its cells, the text a cell shows, and where each
 * column ends on the page.
 *
 * Width model (GitHub's markdown CSS: `table { display: block; width: max-content; max-width: 100%; overflow: auto }`,
 * `td, th { padding: 6px 13px }`, 14 px body text, 85% monospace for code):
 * - a column is as wide as its widest unbreakable line plus 13 px of padding on each side (26 px);
 * - a line breaks only at `<br>` (and, in body text, at spaces; a code span or a reference has none to break at);
 * - body text is ~7.5 px per character, text in inline code ~8.4 px per character, an emoji ~20 px;
 * - when the table is wider than 1,000 px the page scrolls it sideways: whatever ends past 1,000 px is hidden.
 */

/** The width of the column a job summary is shown in. */
export const PAGE_PX = 1000;
const PADDING_PX = 13;
const TEXT_PX = 7.5;
const CODE_PX = 8.4;
const EMOJI_PX = 20;

/** The table's header and rows as raw cells, and the non-empty lines after it. */
export function parseTable(markdown: string): { header: string[]; rows: string[][]; after: string[] } {
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

/** The text a cell shows: `<br>` as a line break, other tags removed, escapes and entities undone. */
export function visible(cell: string): string {
  return cell
    .replace(/<br>/g, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/\\(.)/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Width in px of one line of a cell (its `<br>`-separated part): code spans at the code width, the rest as text. */
export function linePx(line: string): number {
  let px = 0;
  for (const [i, part] of line.split(/<\/?code>/).entries()) {
    const inCode = i % 2 === 1;
    for (const ch of visible(part)) {
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
export function columnEnds(header: string[], rows: string[][]): number[] {
  const ends: number[] = [];
  let x = 0;
  for (let c = 0; c < header.length; c++) {
    x += 2 * PADDING_PX + Math.max(cellPx(header[c]!), ...rows.map((r) => cellPx(r[c] ?? '')));
    ends.push(Math.round(x));
  }
  return ends;
}
