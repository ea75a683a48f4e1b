/**
 * The watch of one target registry while imports into it run (issue 11). Every image waiting on this registry looks
 * at a steady short interval, so a step ends within one interval of the target holding the digest however long the
 * import ran. Looks at one reference are shared between the images that ask within one interval, and a 429 from the
 * data plane pauses the watch of the whole registry for its Retry-After (the registry throttles per client, not per
 * image); nothing else slows it down.
 */
import { RemoteError } from '../errors.js';
import type { Clock } from '../ports.js';
import type { ManifestInfo, RegistryClient } from '../clients/registry.js';

/** How often an image waiting for its import looks at the target. */
export const WATCH_INTERVAL_MS = 200;

/** How long the watch pauses after a 429 that named no Retry-After. */
const THROTTLED_PAUSE_MS = 1_000;

/** After a failed look that was not a 429 (a reset, a 5xx): look again after this long, the ARM poll meanwhile. */
const FAILED_LOOK_DELAY_MS = 1_000;

interface Look {
  at: number;
  result: Promise<ManifestInfo | undefined>;
}

export class RegistryWatch {
  private readonly looks = new Map<string, Look>();
  private pausedUntil = 0;
  private prunedAt = 0;

  constructor(
    private readonly client: RegistryClient,
    private readonly clock: Clock,
    /** The run's signal: a shared look outlives the image that started it, not the run. */
    private readonly runSignal: AbortSignal,
    private readonly intervalMs = WATCH_INTERVAL_MS,
  ) {}

  /**
   * When the next look may go out after one that started at `lookedAt`: one interval after it started (at once when
   * the look took longer), or when a 429 pause ends.
   */
  nextAt(lookedAt: number, failed = false): number {
    return Math.max(lookedAt + (failed ? FAILED_LOOK_DELAY_MS : this.intervalMs), this.pausedUntil);
  }

  /** What `repository:reference` holds now; a look another image started less than half an interval ago is reused. */
  head(repository: string, reference: string): Promise<ManifestInfo | undefined> {
    const now = this.clock.now();
    this.prune(now);
    const key = `${repository}@${reference}`;
    const seen = this.looks.get(key);
    if (seen && now - seen.at < this.intervalMs / 2) return seen.result;
    const result = this.client.headManifest(repository, reference, this.runSignal).catch((err: unknown) => {
      this.looks.delete(key);
      if (err instanceof RemoteError && err.status === 429) {
        this.pausedUntil = Math.max(
          this.pausedUntil,
          this.clock.now() + (err.retryAfterMs ?? THROTTLED_PAUSE_MS),
        );
      }
      throw err;
    });
    result.catch(() => undefined);
    this.looks.set(key, { at: now, result });
    return result;
  }

  private prune(now: number): void {
    if (now - this.prunedAt < 10 * this.intervalMs) return;
    this.prunedAt = now;
    for (const [key, look] of this.looks) if (now - look.at >= this.intervalMs) this.looks.delete(key);
  }
}
