/**
 * Lock mode (`locked: true`): every source is planned and resolved first; the images are imported only when none
 * drifted from the lock file, and then with the digests already read.
 */
import { asImportError } from '../errors.js';
import type { ImageResult } from '../report/result.js';
import { lockDecision, lockDrift } from './decision.js';
import { emptyResult, importImage } from './image.js';
import { abortable } from '../abortable.js';
import { mapLimit } from './limits.js';
import { resolveSource } from './resolve.js';
import type { Session } from './session.js';
import { planSource } from './source.js';

export async function lockedRun(s: Session, lock: ReadonlyMap<string, string>): Promise<ImageResult[]> {
  const { config, ports } = s;
  const checks = await mapLimit(config.images, config.maxParallel, async (spec) => {
    const started = ports.clock.now();
    try {
      const limit = new AbortController();
      const cancel = ports.clock.timer(config.timeoutMs, () =>
        limit.abort(s.timeoutError(spec.sourceText, undefined)),
      );
      const { plan, resolved } = await (async () => {
        const plan = await abortable(planSource(s, spec), limit.signal);
        return { plan, resolved: await resolveSource(spec, plan, limit.signal) };
      })().finally(cancel);
      const drift = lockDrift(spec.sourceText, resolved?.info.digest, lock.get(spec.sourceText));
      return { spec, started, pre: { plan, resolved }, drift };
    } catch (err) {
      return { spec, started, pre: undefined, drift: asImportError(err).message };
    }
  });
  const decision = lockDecision(checks.map((c) => ({ source: c.spec.sourceText, drift: c.drift })));
  if (decision.outcome === 'refuse') {
    return checks.map((c, i) => ({
      ...emptyResult(c.spec),
      sourceDigest: c.pre?.resolved?.info.digest,
      durationMs: ports.clock.now() - c.started,
      error: decision.errors[i]!,
      hint: decision.hint,
    }));
  }
  s.log.info(`All ${checks.length} sources match the lock file.`);
  return mapLimit(checks, config.maxParallel, (c) => importImage(s, c.spec, c.pre));
}
