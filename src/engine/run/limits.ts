/**
 * What bounds a run: each image's time limit (and the error that names what it waited for), how many images run at
 * once, and how one image waits for work it shares with others.
 */
import { TimeoutError } from '../errors.js';

/** The time limit of one image ran out; once the import was accepted, the error names its operation. */
export function imageTimeout(
  label: string,
  timeoutMs: number,
  operation: string | undefined,
  waiting: string | undefined,
): TimeoutError {
  const limit = formatMs(timeoutMs);
  if (!operation && waiting) {
    return new TimeoutError(
      `Importing ${label} did not finish within ${limit}. No answer from ${waiting}.`,
      'That endpoint did not answer in time: check that it is up and reachable from the runner (authority-host, resource-manager-endpoint, the source registry; HTTPS_PROXY/NO_PROXY), then re-run.',
    );
  }
  return operation
    ? new TimeoutError(
        `Importing ${label} did not finish within ${limit}; the operation is still running in Azure (${describeOperation(operation)}).`,
        'Raise timeout if the image is large, or check the source registry: imports from slow or failing registries can hang.',
      )
    : new TimeoutError(
        `Importing ${label} did not finish within ${limit}.`,
        'Raise timeout, or check that the source registry and Azure answer: the log shows which requests were retried.',
      );
}

/** An operation URL as a log line shows it: its path (the query holds no secret, but is long). */
export function describeOperation(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Starts a shared piece of work whose result several images await later. Its failure is reported to each of them,
 * so an early rejection must not count as unhandled (which would end the process).
 */
export function handled<T>(work: () => Promise<T>): Promise<T> {
  const promise = work();
  promise.catch(() => undefined);
  return promise;
}

/** Runs `fn` over `items` with at most `limit` at once; results keep the input order. Never rejects early. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
