/**
 * The CLI's log on stderr. On a terminal: a live line per image (resolving, importing, waiting, verified ...) with
 * its elapsed time, redrawn in place, and the other log lines above it. Off a terminal, or with NO_COLOR /
 * --no-color: plain lines, no escape codes. Every line is redacted of the secrets registered so far.
 */
import type { Logger } from '../../engine/index.js';

export interface Sink {
  write(text: string): unknown;
}

type Phase =
  | 'resolving'
  | 'submitted'
  | 'resolved'
  | 'importing'
  | 'waiting'
  | 'verified'
  | 'unchanged'
  | 'planned'
  | 'failed';

const PHASES: { test: RegExp; phase: Phase }[] = [
  { test: /^resolved to /, phase: 'resolved' },
  { test: /^importing /, phase: 'importing' },
  { test: /^import accepted/, phase: 'waiting' },
  { test: /import complete\.$/, phase: 'verified' },
  { test: /nothing to import\.$/, phase: 'unchanged' },
  { test: /^would /, phase: 'planned' },
  { test: /^failed: /, phase: 'failed' },
];

export interface ProgressOptions {
  /** Live lines (a terminal, colours allowed). */
  live: boolean;
  verbose: boolean;
  now?: () => number;
}

export class CliLog implements Logger {
  private readonly secrets: string[] = [];
  private readonly images = new Map<string, { phase: Phase; started: number; ended?: number }>();
  private drawn = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly out: Sink,
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  mask(secret: string): void {
    if (secret && !this.secrets.includes(secret)) this.secrets.push(secret);
  }

  redact(text: string): string {
    let result = text;
    for (const s of this.secrets) result = result.split(s).join('***');
    return result;
  }

  /** The images whose progress is shown, by their source as written. */
  track(sources: readonly string[]): void {
    const started = this.now();
    for (const s of sources) this.images.set(s, { phase: 'resolving', started });
    if (this.options.live && sources.length) {
      this.draw();
      this.ticker = setInterval(() => this.draw(), 1000);
      this.ticker.unref();
    }
  }

  /** Shows each image's final status (from the result) before the live lines stop. */
  settle(images: readonly { source: string; status: string }[]): void {
    for (const i of images) {
      const state = this.images.get(i.source);
      if (!state) continue;
      state.phase = (i.status === 'imported' || i.status === 'updated' ? 'verified' : i.status) as Phase;
      state.ended ??= this.now();
    }
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.options.live && this.drawn) this.draw();
    this.drawn = 0;
  }

  debug(message: string): void {
    if (this.imageLine(message) && !this.options.verbose) return;
    if (this.options.verbose) this.line(`debug: ${message}`);
  }

  info(message: string): void {
    // On a terminal an image's own lines become its live line; off one they are printed as they come.
    if (this.imageLine(message) && this.options.live && !/: failed: /.test(message)) return;
    this.line(message);
  }

  warning(message: string): void {
    this.imageLine(message);
    this.line(`warning: ${message}`);
  }

  /** Writes a line above the live block (or plainly). */
  line(text: string): void {
    const clean = this.redact(text);
    if (!this.options.live) {
      this.out.write(`${clean}\n`);
      return;
    }
    this.clear();
    this.out.write(`${clean}\n`);
    this.draw();
  }

  /** Reads an image's phase from its log line (`<source>: <what happened>`); true when the line is an image's. */
  private imageLine(message: string): boolean {
    for (const [source, state] of this.images) {
      if (!message.startsWith(`${source}: `)) continue;
      const rest = message.slice(source.length + 2);
      const hit = PHASES.find((p) => p.test.test(rest));
      if (hit) {
        state.phase = hit.phase;
        if (['verified', 'unchanged', 'planned', 'failed'].includes(hit.phase)) state.ended = this.now();
        if (this.options.live) this.draw();
      }
      return true;
    }
    return false;
  }

  private clear(): void {
    if (!this.drawn) return;
    // Up to the first live line, and clear from there down.
    this.out.write(`\x1b[${this.drawn}A\r\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.options.live) return;
    this.clear();
    const lines = [...this.images].map(([source, s]) => {
      const seconds = ((s.ended ?? this.now()) - s.started) / 1000;
      const colour = s.phase === 'failed' ? '31' : s.ended ? '32' : '36';
      return `\x1b[${colour}m${s.phase.padEnd(10)}\x1b[0m ${this.redact(source)}  ${seconds.toFixed(1)}s`;
    });
    if (!lines.length) return;
    this.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
