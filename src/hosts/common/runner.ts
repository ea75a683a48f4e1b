/**
 * The host runner shared by every host (the GitHub Action, the CLI, the Azure Pipelines task): it reads the raw
 * inputs through the host's getter, masks the secrets before anything else, applies the environment fallbacks,
 * reports unknown inputs ("did you mean"), keeps images-file and lock-file inside the host's root, reads or writes the
 * lock file, makes the one proxy decision, owns the HTTP transport's life, runs the engine and hands back what the host
 * publishes: outputs, summary markdown, failure text and the kind of each failure.
 * A host only maps this to its own surface (the runner's workflow commands and files, a terminal, a pipeline's logging commands).
 */
import {
  loadYaml,
  checkWorkspaceWrite,
  createUndiciTransport,
  ENV_FALLBACKS,
  failureKind,
  ImportError,
  InputError,
  INPUTS,
  parseConfig,
  parseLockFile,
  proxySettingsFromEnv,
  readWorkspaceFile,
  renderLockFile,
  renderSummary,
  runImports,
  SECRET_INPUTS,
  secretSink,
  systemClock,
  toOutputs,
  userAgent,
  writeWorkspaceFile,
  type AuthHost,
  type Clock,
  type FailureKind,
  type HostWording,
  type ImportConfig,
  type InputProblem,
  type Logger,
  type RawInputs,
  type RunOutputs,
  type ProxySettings,
  type RunPorts,
  type RunResult,
  type SecretSink,
  type Transport,
  type WorkspaceRules,
} from '../../engine/index.js';
import type { TokenCredential } from '@azure/identity';

export interface Host {
  /** The raw value of an input by its public name; '' when it was not given. */
  input(name: string): string;
  /**
   * Names the host was given that are not inputs, sorted into near misses of real inputs (problems: the run would
   * otherwise use a default) and others (warnings). The Action checks its INPUT_* variables; the CLI's flag parser
   * already refused unknown flags (see `problems`).
   */
  checkGiven?(inputs: readonly string[]): { problems: InputProblem[]; warnings: string[] };
  /** The source ACR by name (the CLI's `--registry NAME`): the sources are `repo:tag` in it, found through ARM. */
  sourceRegistryName?: string;
  /** Problems the host found itself (the CLI: unknown flags, stray arguments), reported with the engine's at once. */
  problems?: readonly InputProblem[];
  /** How the host shows an input's name in a message: `target-tags` in a workflow, `--target-tags` on a command line. */
  inputLabel?: (name: string) => string;
  /** The environment (fallbacks for subscription, tenant and client ids; the proxy variables). */
  env: Readonly<Record<string, string | undefined>>;
  /** Where images-file and lock-file may be (the workspace, the current directory) and how to allow more. */
  files: WorkspaceRules;
  mask: SecretSink;
  logger: Logger;
  /** What the host offers for signing in, once the inputs are known to be valid. */
  authHost(config: ImportConfig): AuthHost | Promise<AuthHost>;
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
  /**
   * A ready-made credential (library callers, tests), or a function of the valid config that builds one. When given,
   * the engine signs in with it instead of choosing a mode from the auth inputs.
   */
  credential?: TokenCredential | ((config: ImportConfig) => TokenCredential | Promise<TokenCredential>);
  /**
   * A sign-in the engine builds once the cloud is known (a custom cloud's authority from its ARM metadata), whose
   * requests go through the engine's client (the run's proxy decision). Wins over `credential`.
   */
  signIn?: (config: ImportConfig) => RunPorts['signIn'];
  /** The proxy decision, when the host makes it itself (the agent's proxy settings); default: from `env`. */
  proxy?: ProxySettings;
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
  // Secrets first: nothing may be logged before they are masked. Each secret is masked once, however often it arrives.
  const mask = secretSink(host.mask);
  for (const name of SECRET_INPUTS) {
    const value = host.input(name);
    if (value) mask(value);
  }
  const raw: RawInputs = Object.fromEntries(Object.values(INPUTS).map((name) => [name, host.input(name)]));

  const given = host.checkGiven?.(Object.values(INPUTS)) ?? { problems: [], warnings: [] };
  for (const warning of given.warnings) host.logger.warning(warning);
  const unknown = [...(host.problems ?? []), ...given.problems];
  let config: ImportConfig;
  try {
    if (raw[INPUTS.imagesFile]?.trim()) await loadYaml();
    config = parseConfig(raw, {
      env: pick(host.env, Object.values(ENV_FALLBACKS)),
      readFile: (file) => readWorkspaceFile(host.files, INPUTS.imagesFile, file),
      wording: host.wording,
      ...(host.sourceRegistryName !== undefined && { sourceRegistryName: host.sourceRegistryName }),
    });
  } catch (err) {
    return failed(
      unknown.length && err instanceof InputError ? new InputError([...unknown, ...err.problems]) : err,
      host.inputLabel,
    );
  }
  if (unknown.length) return failed(new InputError(unknown), host.inputLabel);

  // locked: true checks every source against the committed lock file before anything is imported; a lock file to
  // write must be allowed where it is: both checked now, before any request.
  let lock: ReadonlyMap<string, string> | undefined;
  try {
    if (config.lockFile && config.locked) lock = readLockFile(host.files, config.lockFile);
    else if (config.lockFile) checkWorkspaceWrite(host.files, INPUTS.lockFile, config.lockFile);
  } catch (err) {
    return failed(err, host.inputLabel);
  }

  // One proxy decision for every request of the run (ARM, registries, Entra ID, the OIDC token endpoint).
  let own: ReturnType<typeof createUndiciTransport> | undefined;
  try {
    own = host.transport
      ? undefined
      : createUndiciTransport({
          userAgent: userAgent(host.userAgentHost),
          proxy: host.proxy ?? proxySettingsFromEnv(host.env),
        });
  } catch (err) {
    return failed(err, host.inputLabel);
  }
  const transport = host.transport ?? own!.transport;
  let result: RunResult;
  try {
    const authHost = await host.authHost(config);
    const signIn = host.signIn?.(config);
    const credential =
      typeof host.credential === 'function' ? await host.credential(config) : host.credential;
    const count = config.images.length;
    const run = (): Promise<RunResult> =>
      runImports(
        config,
        {
          logger: host.logger,
          mask,
          transport,
          clock: host.clock ?? systemClock,
          authHost: { ...authHost, wording: host.wording },
          ...(credential ? { credential } : {}),
          ...(signIn ? { signIn } : {}),
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
  if (config.lockFile && !config.locked) {
    const written = writeLock(result, host.files, config.lockFile, host.logger);
    if (typeof written === 'object') {
      return {
        ...base,
        outcome: result.ok ? 'failed' : outcomeOf(kinds),
        failure: result.ok ? written.error : `${failureReport(result)}\n${written.error}`,
      };
    }
    lockWritten = written;
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
      ...landed.map((i) =>
        `- ${i.source} -> ${i.targets.map((t) => t.ref).join(', ') || '(no target)'}: ${i.status} ${i.sourceDigest ?? ''}`.trimEnd(),
      ),
    );
  }
  return lines.join('\n');
}

function readLockFile(files: WorkspaceRules, given: string): ReadonlyMap<string, string> {
  const text = readWorkspaceFile(files, INPUTS.lockFile, given, {
    missing:
      'cannot be read with locked: true (it does not exist); write it first with lock-file and locked: false, commit it, and check out the repository before this step',
  });
  return parseLockFile(text, given);
}

/**
 * Writes the lock file, but only for a run in which every image succeeded: it never records half a run.
 * The path written, undefined when skipped, an error when writing failed.
 */
function writeLock(
  result: RunResult,
  files: WorkspaceRules,
  given: string,
  logger: Logger,
): string | undefined | { error: string } {
  const failed = result.images.filter((i) => i.status === 'failed').length;
  if (failed > 0) {
    logger.warning(`Lock file ${given} not written: ${failed} of ${result.images.length} images failed.`);
    return undefined;
  }
  try {
    const file = writeWorkspaceFile(files, INPUTS.lockFile, given, renderLockFile(result));
    logger.info(
      `Wrote lock file ${file} (${result.images.length} image${result.images.length === 1 ? '' : 's'}).`,
    );
    return file;
  } catch (err) {
    return {
      error: `Could not write lock file ${given}: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
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
