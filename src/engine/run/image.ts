/**
 * One image, stage by stage: plan the source -> resolve its digest (while the target's tags are read) -> decide ->
 * import -> wait -> verify -> referrers. Each stage hands its data to the next; this file only wires them and turns
 * a failure (or the image's time limit) into a failed result with its kind.
 */
import type { RegistryResource } from '../clients/arm.js';
import type { ImageSpec } from '../config/model.js';
import { asImportError, ImportError, VerificationError } from '../errors.js';
import { failureKind } from '../report/failure-kind.js';
import type { ImageResult, TargetResult } from '../report/result.js';
import { decideImport, decideSource, targetsHoldDigest } from './decision.js';
import { importBody, submitImport } from './import.js';
import { abortable } from '../abortable.js';
import { runReferrers } from './referrers.js';
import { resolveSource, type Resolved } from './resolve.js';
import type { Session } from './session.js';
import { planSource, provisionalPlan, type SourcePlan } from './source.js';
import { readTargets, readUntagged, targetKeys, type TargetState } from './target.js';
import { describeSource, describeTarget, missingChildren, verifyTargets } from './verify.js';
import { waitForImport } from './wait.js';
import { isIndexMediaType } from '../clients/registry.js';

/** A target tag holds another image and force is off (failure-kind.ts knows it by its name). */
class ImportConflict extends VerificationError {}

/** A source already planned and resolved (the lock check did it). */
export interface PreResolved {
  plan: SourcePlan;
  resolved: Resolved;
}

export function emptyResult(spec: ImageSpec): ImageResult {
  return {
    source: spec.sourceText,
    sourceDigest: undefined,
    mediaType: undefined,
    platforms: undefined,
    targets: [],
    status: 'failed',
    durationMs: 0,
    notes: [],
  };
}

/** Imports one image within its time limit; never throws: a failure is a failed result. */
export async function importImage(s: Session, spec: ImageSpec, pre?: PreResolved): Promise<ImageResult> {
  const { clock } = s.ports;
  const started = clock.now();
  const result = emptyResult(spec);
  const controller = new AbortController();
  const cancelTimer = clock.timer(s.config.timeoutMs, () =>
    controller.abort(s.timeoutError(spec.sourceText, s.operations.get(controller.signal))),
  );
  const deadline = started + s.config.timeoutMs;
  try {
    const plan = await importSteps(s, spec, result, controller.signal, deadline, pre);
    if (s.config.referrers !== 'none') await referrers(s, spec, result, plan, controller.signal, deadline);
  } catch (err) {
    const reason =
      controller.signal.aborted && controller.signal.reason instanceof ImportError
        ? controller.signal.reason
        : err;
    const e = asImportError(reason);
    result.status = 'failed';
    result.error = e.message;
    if (e.hint) result.hint = e.hint;
    result.kind = failureKind(e);
    if (s.config.dryRun) result.plan = 'fail';
    // One line here; the adapter reports every failure together at the end.
    s.log.info(`${spec.sourceText}: failed: ${e.message.replace(/\s*\r?\n\s*/g, ' ')}`);
  } finally {
    cancelTimer();
    // Whatever this image still has in flight (a lookup a failure overtook) stops now, not after its retries.
    if (!controller.signal.aborted) controller.abort(new Error('the image is done'));
    result.durationMs = clock.now() - started;
  }
  return result;
}

/** The stages of one image; what they learn goes into `result` as they go, so a failure keeps it. */
async function importSteps(
  s: Session,
  spec: ImageSpec,
  result: ImageResult,
  signal: AbortSignal,
  deadline: number,
  pre: PreResolved | undefined,
): Promise<SourcePlan> {
  const { config, log } = s;
  const label = spec.sourceText;

  // Read the target's tags while the source is planned and resolved (the plan may wait for the registry list; the
  // tags only need the target and its token).
  const targetStates = readTargets(s, spec, signal).catch((err: unknown) => err as Error);
  const wantDigest = config.pinDigest || spec.expectedDigest !== undefined || spec.platform !== undefined;
  // A source that is a plain registry unless the registry list names its host is read meanwhile (source.ts).
  const provisional = pre ? undefined : provisionalPlan(s, spec);
  const early = provisional && wantDigest ? settle(resolveSource(spec, provisional, signal)) : undefined;
  const plan = pre?.plan ?? (await abortable(planSource(s, spec, provisional), signal));
  const resolving = pre
    ? settle(Promise.resolve(pre.resolved))
    : !wantDigest
      ? settle(Promise.resolve(undefined))
      : early && plan === provisional
        ? early
        : settle(resolveSource(spec, plan, signal));
  const [resolution, states] = await Promise.all([resolving, targetStates]);
  // A problem with signing in or with the target concerns every image: report it before a source problem.
  const target = await abortable(s.targetRegistry(), signal);
  if (!resolution.ok) throw resolution.error;
  const resolved = resolution.value;
  if (resolved) {
    result.sourceDigest = resolved.info.digest;
    result.mediaType = resolved.info.mediaType;
    if (resolved.platformNote) result.notes.push(resolved.platformNote);
    log.info(`${label}: resolved to ${resolved.info.digest} (${resolved.info.mediaType})`);
  }

  // Decide the digest to import.
  const pin = decideSource({
    label,
    resolved: resolved?.info.digest,
    unreachable: plan.unreachable,
    expectedDigest: spec.expectedDigest,
    pinDigest: config.pinDigest,
    pinStrict: config.pinDigestStrict === true,
    platform: spec.platform !== undefined,
    setInput: s.wording.setInput,
  });
  if (pin.note) {
    result.notes.push(pin.note);
    log.warning(
      `${label}: ${plan.unreachable}; importing by tag and reading the digest from the target afterwards.`,
    );
  }
  if (pin.outcome === 'refuse') throw new VerificationError(pin.message, pin.hint);
  const digest = pin.digest;

  // Decide from the target's current state: nothing to do, a conflict, an update or a fresh import.
  const dataPlane = states instanceof Error ? undefined : states;
  if (states instanceof Error) {
    const e = asImportError(states);
    result.notes.push(
      `The target's tags could not be read from the runner (${e.message}); the result is not verified.`,
    );
    log.warning(`${label}: cannot read the target registry from the runner: ${e.describe()}`);
  }
  const targetsOf = (d: string | undefined): TargetResult[] =>
    (dataPlane ?? targetKeys(spec, target)).map((st) => ({ ref: st.ref, digest: d }));
  let missing: string[] = [];
  if (digest && dataPlane) {
    await readUntagged(s, dataPlane, digest, signal);
    if (targetsHoldDigest(digest, dataPlane) && resolved && isIndexMediaType(resolved.info.mediaType)) {
      missing = await missingChildren(await s.targetDataPlane(), dataPlane, digest, signal);
    }
  }
  const decision = decideImport({
    digest,
    targets: dataPlane,
    missing,
    force: config.force,
    dryRun: config.dryRun,
    wait: config.wait,
    setForce: s.wording.setInput('force', 'true'),
  });
  if (decision.outcome === 'conflict') throw new ImportConflict(decision.message, decision.hint);
  if (decision.outcome === 'unchanged') {
    result.status = decision.status;
    if (decision.plan) result.plan = decision.plan;
    result.targets = targetsOf(digest);
    Object.assign(result, await describe(s, spec, digest, result.mediaType, signal));
    log.info(`${label}: every target already holds ${digest}; nothing to import.`);
    return plan;
  }
  if (decision.note) {
    result.notes.push(decision.note);
    log.warning(`${label}: ${decision.note}`);
  }

  // Import (a dry run stops at the plan).
  const body = importBody(spec, plan, digest, decision.mode);
  if (decision.plan) {
    result.status = decision.status;
    result.plan = decision.plan;
    result.targets = targetsOf(digest);
    Object.assign(result, await describeSource(spec, plan, digest, result.mediaType, log, signal));
    log.info(
      `${label}: would ${result.plan} ${body.source.sourceImage} -> ${result.targets.map((t) => t.ref).join(', ')}`,
    );
    return plan;
  }
  log.info(`${label}: importing ${body.source.sourceImage} into ${target.name} (${decision.mode})`);
  const start = await submitImport(s, target, body, signal, digest === undefined);
  if (decision.status === 'submitted') {
    result.status = 'submitted';
    result.targets = targetsOf(digest);
    Object.assign(result, await describeSource(spec, plan, digest, result.mediaType, log, signal));
    result.notes.push(
      'wait: false — the import was submitted; the action did not wait for it or verify the target.',
    );
    return plan;
  }

  // Wait, then verify: every target holds the pinned digest (or, unpinned, record what it holds).
  if (!start.done) {
    await waitForImport(s, label, start.location, start.retryAfterMs, digest, dataPlane, signal, deadline);
    s.operations.delete(signal);
  }
  if (!dataPlane) {
    result.status = decision.status;
    result.targets = targetsOf(digest);
    return plan;
  }
  const verified = await verifyTargets(await s.targetDataPlane(), target, dataPlane, digest, signal);
  result.mediaType ??= verified.mediaType;
  result.sourceDigest ??= verified.digest;
  result.targets = verified.targets;
  result.status = decision.status;
  Object.assign(result, await describe(s, spec, verified.digest, result.mediaType, signal));
  return plan;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The outcome of `work`, kept to be looked at later (a rejection is not left unhandled meanwhile). */
function settle<T>(work: Promise<T>): Promise<Settled<T>> {
  return work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function describe(
  s: Session,
  spec: ImageSpec,
  digest: string | undefined,
  mediaType: string | undefined,
  signal: AbortSignal,
): ReturnType<typeof describeTarget> {
  return describeTarget(() => s.targetDataPlane(), spec, digest, mediaType, s.log, signal);
}

/** Signatures, SBOMs and attestations of the image, copied after it (referrers.ts). */
function referrers(
  s: Session,
  spec: ImageSpec,
  result: ImageResult,
  plan: SourcePlan,
  signal: AbortSignal,
  deadline: number,
): Promise<void> {
  return runReferrers(
    {
      config: s.config,
      log: s.log,
      slots: s.referrerSlots,
      target: async () => ({ registry: await s.targetRegistry(), client: await s.targetDataPlane() }),
      importManifest: async (registry: RegistryResource, body, digest, watch: TargetState[], signal) => {
        const label = `${spec.sourceText} referrer ${digest}`;
        const start = await submitImport(s, registry, body, signal);
        if (!start.done) {
          await waitForImport(s, label, start.location, start.retryAfterMs, digest, watch, signal, deadline);
        }
      },
    },
    spec,
    result,
    plan,
    signal,
  );
}
