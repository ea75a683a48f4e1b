/**
 * The host runner shared by every host (the GitHub Action, the CLI, later the Azure Pipelines task): it reads the raw
 * inputs through the host's getter, masks the secrets before anything else, applies the environment fallbacks,
 * reports unknown inputs ("did you mean"), reads or writes the lock file, owns the HTTP transport's life, runs the
 * engine and hands back what the host publishes: outputs, summary markdown, failure text and the kind of each failure.
 * A host only maps this to its own surface (@actions/core, a terminal, a pipeline's logging commands).
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createUndiciTransport,
  ENV_FALLBACKS,
  failureKind,
  ImportError,
  InputError,
  INPUTS,
  parseConfig,
  parseLockFile,
  renderLockFile,
  renderSummary,
  runImports,
  SECRET_INPUTS,
  systemClock,
  toOutputs,
  userAgent,
  type AuthHost,
  type Clock,
  type FailureKind,
  type HostWording,
  type ImportConfig,
  type InputProblem,
  type Logger,
  type RawInputs,
  type RunOutputs,
  type RunResult,
  type SecretSink,
  type Transport,
} from '../../engine/index.js';
import { editDistance } from './did-you-mean.js';

export interface Host {
  /** The raw value of an input by its public name; '' when it was not given. */
  input(name: string): string;
  /** Names given to the host that may not be inputs (the Action's INPUT_* variables). */
  given: readonly string[];
  /** Problems the host found itself (the CLI: unknown flags, stray arguments), reported with the engine's at once. */
  problems?: readonly InputProblem[];
  /** How the host shows an input's name in a message: `target-tags` in a workflow, `--target-tags` on a command line. */
  inputLabel?: (name: string) => string;
  /** For an unknown input: what it is not (`an input of this action`) and where the list is (`action.yml`). */
  unknown: { noun: string; listedIn: string };
  /** The environment (fallbacks for subscription, tenant and client ids). */
  env: Readonly<Record<string, string | undefined>>;
  /** A user path (images-file, lock-file) as a path to open; throws with the reason when the host does not allow it. */
  resolvePath(file: string, input: string): string;
  mask: SecretSink;
  logger: Logger;
  authHost: AuthHost;
  wording: HostWording;
  /** The host part of the user agent, e.g. `GitHub Actions; acme/app`. */
  userAgentHost: string;
  clock?: Clock;
  /** Called once the inputs are valid, just before the engine starts (the CLI starts its progress lines). */
  onStart?(config: ImportConfig): void;
  /** Wraps the import phase (a foldable group on GitHub); default: none. */
  group?<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** Shown under the summary's title, e.g. the workflow run. */
  summarySubtitle?(): Promise<string | undefined>;
  /** A transport to use instead of undici (tests); the runner closes only the one it made. */
  transport?: Transport;
}

/** What a run ended as, in one word a host maps to its status (the CLI: to an exit code). */
export type Outcome = 'done' | 'failed' | 'input' | 'sign-in';

export interface HostResult {
  outcome: Outcome;
  config?: ImportConfig;
  /** Present once the engine ran. */
  result?: RunResult;
  outputs?: RunOutputs;
  /** The summary markdown (only when the engine ran). */
  summary?: string;
  /** What went wrong and what to do, when the outcome is not `done`. */
  failure?: string;
  /** The kind of each failed image, or of the run's one problem. */
  kinds: FailureKind[];
  /** Where the lock file was written, when it was. */
  lockWritten?: string;
}

export async function runHost(host: Host): Promise<HostResult> {
  // Secrets first: nothing may be logged before they are masked.
  for (const name of SECRET_INPUTS) {
    const value = host.input(name);
    if (value) host.mask(value);
  }
  const raw: RawInputs = Object.fromEntries(Object.values(INPUTS).map((name) => [name, host.input(name)]));

  const unknown = [...(host.problems ?? []), ...unknownInputs(host)];
  let config: ImportConfig;
  try {
    config = parseConfig(raw, {
      env: pick(host.env, Object.values(ENV_FALLBACKS)),
      readFile: (file) => readFileSync(host.resolvePath(file, INPUTS.imagesFile), 'utf8'),
      wording: host.wording,
    });
  } catch (err) {
    return failed(
      unknown.length && err instanceof InputError ? new InputError([...unknown, ...err.problems]) : err,
      host.inputLabel,
    );
  }
  if (unknown.length) return failed(new InputError(unknown), host.inputLabel);

  // locked: true checks every source against the committed lock file before anything is imported.
  let lock: ReadonlyMap<string, string> | undefined;
  let lockPath: string | undefined;
  if (config.lockFile) {
    try {
      lockPath = host.resolvePath(config.lockFile, INPUTS.lockFile);
      if (config.locked) lock = readLockFile(lockPath, config.lockFile);
    } catch (err) {
      return failed(
        err instanceof ImportError
          ? err
          : new InputError([{ input: INPUTS.lockFile, value: config.lockFile, message: errorText(err) }]),
        host.inputLabel,
      );
    }
  }

  const own = host.transport
    ? undefined
    : createUndiciTransport({ userAgent: userAgent(host.userAgentHost) });
  const transport = host.transport ?? own!.transport;
  let result: RunResult;
  try {
    const count = config.images.length;
    const run = (): Promise<RunResult> =>
      runImports(
        config,
        {
          logger: host.logger,
          mask: host.mask,
          transport,
          clock: host.clock ?? systemClock,
          authHost: { ...host.authHost, wording: host.wording },
        },
        lock ? { lock } : {},
      );
    const name = `Import ${count} image${count === 1 ? '' : 's'}`;
    host.onStart?.(config);
    result = await (host.group ? host.group(name, run) : run());
  } catch (err) {
    return { ...failed(err), config };
  } finally {
    await own?.close();
  }

  const outputs = toOutputs(result);
  let subtitle: string | undefined;
  try {
    subtitle = await host.summarySubtitle?.();
  } catch {
    subtitle = undefined;
  }
  const summary = renderSummary(result, subtitle ? { subtitle } : {});
  const failedImages = result.images.filter((i) => i.status === 'failed');
  const kinds = failedImages.map((i) => i.kind ?? 'remote');
  const base = { config, result, outputs, summary, kinds };

  // With locked: true the lock file is the reference the run was checked against; it is never rewritten.
  let lockWritten: string | undefined;
  if (lockPath && !config.locked) {
    const written = await writeLock(result, lockPath, host.logger);
    if (typeof written === 'object') {
      return {
        ...base,
        outcome: result.ok ? 'failed' : outcomeOf(kinds),
        failure: result.ok ? written.error : `${failureReport(result)}\n${written.error}`,
      };
    }
    if (written) lockWritten = lockPath;
  }
  if (result.ok) return { ...base, outcome: 'done', ...(lockWritten ? { lockWritten } : {}) };
  return { ...base, outcome: outcomeOf(kinds), failure: failureReport(result) };
}

/** Any image that failed to sign in or for want of a permission makes it a sign-in problem (the CLI's exit 3). */
function outcomeOf(kinds: readonly FailureKind[]): Outcome {
  return kinds.some((k) => k === 'sign-in' || k === 'permission') ? 'sign-in' : 'failed';
}

/** A run that ended before or instead of importing: one error, said the way the user should read it. */
function failed(err: unknown, label?: (name: string) => string): HostResult {
  if (err instanceof InputError && label) {
    // Problems name the input the way this host's users write it (`--name` on the command line).
    const known = Object.values(INPUTS) as string[];
    err = new InputError(
      err.problems.map((p) => (known.includes(p.input) ? { ...p, input: label(p.input) } : p)),
    );
  }
  if (err instanceof ImportError) {
    const kind = failureKind(err);
    return {
      outcome:
        kind === 'input' ? 'input' : kind === 'sign-in' || kind === 'permission' ? 'sign-in' : 'failed',
      failure: err.describe(),
      kinds: [kind],
    };
  }
  return {
    outcome: 'failed',
    failure: err instanceof Error ? (err.stack ?? err.message) : String(err),
    kinds: ['remote'],
  };
}

/** What landed and what did not, and why: the step's failure message. */
export function failureReport(result: RunResult): string {
  const failed = result.images.filter((i) => i.status === 'failed');
  const landed = result.images.filter((i) => i.status !== 'failed');
  const describe = (i: (typeof failed)[number]): string =>
    `${i.error ?? 'failed'}${i.hint ? `\n  ${i.hint}` : ''}`;
  const reasons = new Set(failed.map(describe));
  // One cause for many images (signing in, the target) is said once, not once per image.
  const lines =
    failed.length > 1 && failed.length === result.images.length && reasons.size === 1
      ? [
          `All ${failed.length} images failed (${failed.map((i) => i.source).join(', ')}):`,
          `- ${[...reasons][0]}`,
        ]
      : [
          `${failed.length} of ${result.images.length} image${result.images.length === 1 ? '' : 's'} failed:`,
          ...failed.map((i) => `- ${i.source}: ${describe(i)}`),
        ];
  if (landed.length) {
    lines.push(
      'Landed:',
      ...landed.map((i) => `- ${i.source}: ${i.status} ${i.sourceDigest ?? ''}`.trimEnd()),
    );
  }
  return lines.join('\n');
}

function readLockFile(file: string, given: string): ReadonlyMap<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError([
      {
        input: INPUTS.lockFile,
        value: given,
        message: `cannot be read with locked: true (${errorText(err)}); write it first with lock-file and locked: false, commit it, and check out the repository before this step`,
      },
    ]);
  }
  return parseLockFile(text, given);
}

/**
 * Writes the lock file, but only for a run in which every image succeeded: it never records half a run.
 * True when written, false when skipped, an error when writing failed.
 */
async function writeLock(
  result: RunResult,
  file: string,
  logger: Logger,
): Promise<boolean | { error: string }> {
  const failed = result.images.filter((i) => i.status === 'failed').length;
  if (failed > 0) {
    logger.warning(`Lock file ${file} not written: ${failed} of ${result.images.length} images failed.`);
    return false;
  }
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, renderLockFile(result));
    logger.info(
      `Wrote lock file ${file} (${result.images.length} image${result.images.length === 1 ? '' : 's'}).`,
    );
    return true;
  } catch (err) {
    return { error: `Could not write lock file ${file}: ${errorText(err)}` };
  }
}

/**
 * Names the host was given that are not inputs: a misspelt `target-tag` or `timout` would silently run with the
 * default. Their values are not shown: a misspelt `client-secrets` holds a secret.
 */
function unknownInputs(host: Host): InputProblem[] {
  const known = Object.values(INPUTS) as string[];
  const label = host.inputLabel ?? ((n: string): string => n);
  const problems: InputProblem[] = [];
  for (const name of [...host.given].sort()) {
    if (known.includes(name)) continue;
    const closest = known.map((k) => ({ k, d: editDistance(k, name) })).sort((a, b) => a.d - b.d)[0];
    const guess =
      closest && closest.d <= 3
        ? `did you mean '${label(closest.k)}'?`
        : `see the inputs in ${host.unknown.listedIn}.`;
    problems.push({
      input: label(name),
      value: '***',
      message: `is not ${host.unknown.noun}; ${guess} Remove or rename it`,
    });
  }
  return problems;
}

function pick(
  env: Readonly<Record<string, string | undefined>>,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = env[name];
    if (value) out[name] = value;
  }
  return out;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
