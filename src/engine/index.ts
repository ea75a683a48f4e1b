/**
 * acr-import engine: the library behind the GitHub Action, the CLI and the Azure Pipelines task.
 * Host-agnostic: give it a validated config and its ports; it returns a result to publish.
 */
export { runImports } from './run/run.js';
export { parseConfig } from './config/parse.js';
export { loadYaml } from './config/yaml.js';
export {
  INPUTS,
  SECRET_INPUTS,
  ENV_FALLBACKS,
  DEFAULTS,
  type ImportConfig,
  type ImageSpec,
  type RawInputs,
  type InputName,
} from './config/model.js';
export { CLOUDS, type CloudName } from './config/clouds.js';
export { INPUT_TABLE, type InputDeclaration, type InputType } from './config/input-table.js';
export * from './reference.js';
export { renderSummary, escapeMarkdown, type SummaryContext } from './report/summary.js';
export { renderLockFile, parseLockFile, LOCK_VERSION, type LockFile, type LockEntry } from './report/lock.js';
export {
  toOutputs,
  type RunResult,
  type ImageResult,
  type ImageStatus,
  type RunOutputs,
  type ReferrerResult,
} from './report/result.js';
export {
  ImportError,
  InputError,
  AuthError,
  RemoteError,
  TimeoutError,
  VerificationError,
  type InputProblem,
} from './errors.js';
export { createUndiciTransport, DEFAULT_RETRY, type RetryPolicy } from './net/http.js';
export { proxySettingsFromEnv, proxyFor, type ProxySettings } from './net/proxy.js';
export { requestGithubIdToken } from './net/identity-http.js';
export {
  NEUTRAL_WORDING,
  NEUTRAL_INPUT_VARIABLE_WORDING,
  type InputVariableWording,
  type Clock,
  type HostWording,
  type Logger,
  type SecretSink,
  type EnginePorts,
  type RunPorts,
  type AuthHost,
  type WorkspaceRules,
  type Transport,
  type HttpRequest,
  type HttpResponse,
} from './ports.js';
export { systemClock } from './clock.js';
export { failureKind, FAILURE_KINDS, type FailureKind } from './report/failure-kind.js';
export type { AuthMode, HostSignIn, SignInContext } from './run/sign-in.js';
export { decodeClaims, loadIdentity } from './run/sign-in.js';
export { VERSION, userAgent } from './version.js';
export {
  readWorkspaceFile,
  checkWorkspaceWrite,
  writeWorkspaceFile,
  maskedExcerpt,
  MAX_INPUT_FILE_BYTES,
} from './config/workspace-files.js';
export {
  checkInputVariables,
  editDistance,
  inputVariableName,
  type InputVariableCheck,
} from './config/input-variables.js';
export { secretSink } from './masking.js';
export { suspiciousCharacter, describeCharacter } from './config/characters.js';
