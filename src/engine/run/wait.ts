/**
 * Wait: polls ARM's import operation no faster than its Retry-After, and meanwhile watches the target's tags (the
 * registry watch, watch.ts), finishing as soon as every target that did not already hold the digest holds it.
 */
import { UNTRUSTED_ARM_URL } from '../clients/arm.js';
import type { ManifestInfo } from '../clients/registry.js';
import { asImportError, RemoteError } from '../errors.js';
import { describeImportFailure } from '../report/hints.js';
import { abortable } from '../abortable.js';
import { describeOperation } from './limits.js';
import type { Session } from './session.js';
import type { TargetState } from './target.js';
import type { RegistryWatch } from './watch.js';

/**
 * Waits for the import whose operation is at `location`. Unpinned (the source could not be read from here), the
 * watch works only when every target is a tag that did not exist before: it finishes once they all exist and hold
 * one digest, which the verification then reads.
 */
export async function waitForImport(
  s: Session,
  label: string,
  location: string,
  retryAfterMs: number | undefined,
  digest: string | undefined,
  states: readonly TargetState[] | undefined,
  signal: AbortSignal,
  deadline: number,
): Promise<void> {
  const clock = s.ports.clock;
  const fresh = states?.every((st) => st.tag !== undefined && st.before === undefined) ?? false;
  const watched = !states
    ? []
    : digest
      ? states.filter((st) => st.tag !== undefined && st.before !== digest)
      : fresh
        ? states
        : [];
  const untaggedOnly = digest && states ? states.filter((st) => st.tag === undefined) : [];
  const canWatch = watched.length > 0 || untaggedOnly.length > 0;
  const watch = canWatch ? s.watchOf(await s.targetDataPlane()) : undefined;
  let pollAt = clock.now() + pollDelay(retryAfterMs);
  let watchAt = watch ? watch.nextAt(clock.now()) : Infinity;
  let currentLocation = location;
  s.operations.set(signal, location);
  let pollFailures = 0;
  s.log.debug(`${label}: import accepted; operation ${describeOperation(location)}`);
  for (;;) {
    const now = clock.now();
    if (now >= deadline) {
      throw s.timeoutError(label, currentLocation);
    }
    const wakeAt = Math.min(canWatch ? Math.min(pollAt, watchAt) : pollAt, deadline);
    if (wakeAt > now) await clock.sleep(wakeAt - now, signal);
    if (signal.aborted) throw signal.reason;
    if (canWatch && clock.now() >= watchAt) {
      let failed = false;
      const lookedAt = clock.now();
      const done = await targetsHold(watch!, watched, untaggedOnly, digest, signal).catch(() => {
        if (signal.aborted) throw signal.reason;
        failed = true;
        return false;
      });
      if (done) {
        s.log.info(`${label}: the target holds ${digest ?? 'the imported image'}; import complete.`);
        return;
      }
      // A steady interval: only a 429 (its Retry-After) or a failed look moves the next one further out.
      watchAt = watch!.nextAt(lookedAt, failed);
    }
    if (clock.now() >= pollAt) {
      let poll;
      try {
        poll = await s.arm.pollImport(currentLocation, signal);
        pollFailures = 0;
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        if (err instanceof RemoteError && err.code === UNTRUSTED_ARM_URL) throw err;
        if (++pollFailures > 5) throw err;
        s.log.debug(`${label}: polling the operation failed (${asImportError(err).message}); trying again`);
        pollAt = clock.now() + Math.max(2_000, err instanceof RemoteError ? (err.retryAfterMs ?? 0) : 0);
        continue;
      }
      if (poll.state === 'succeeded') return;
      if (poll.state === 'failed')
        throw describeImportFailure(poll.code, poll.message, label, digest === undefined, s.wording.setInput);
      currentLocation = poll.location;
      s.operations.set(signal, currentLocation);
      pollAt = clock.now() + pollDelay(poll.retryAfterMs);
    }
  }
}

async function targetsHold(
  watch: RegistryWatch,
  watched: readonly TargetState[],
  untagged: readonly TargetState[],
  digest: string | undefined,
  signal: AbortSignal,
): Promise<boolean> {
  const head = (repository: string, reference: string): Promise<ManifestInfo | undefined> =>
    abortable(watch.head(repository, reference), signal);
  if (!digest) {
    // Unpinned: every (new) tag exists, and they all point to the same manifest.
    const held = await Promise.all(watched.map(async (st) => (await head(st.repository, st.tag!))?.digest));
    return held.every((d) => d !== undefined && d === held[0]);
  }
  const checks = await Promise.all([
    ...watched.map(async (st) => (await head(st.repository, st.tag!))?.digest === digest),
    ...untagged.map(async (st) => (await head(st.repository, digest)) !== undefined),
  ]);
  return checks.every(Boolean);
}

function pollDelay(retryAfterMs: number | undefined): number {
  // ARM asks for 10 s; the watch usually finishes long before. Without Retry-After, poll every 5 s.
  return Math.max(1_000, retryAfterMs ?? 5_000);
}
