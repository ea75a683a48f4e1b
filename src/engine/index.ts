/**
 * acr-import engine: the library behind the GitHub Action, the CLI and the Azure Pipelines task.
 * Host-agnostic: give it a validated config and its ports; it returns a result to publish.
 */
export { runImports, type RunPorts } from './run.js';
export {
  parseConfig,
  INPUTS,
  SECRET_INPUTS,
  ENV_FALLBACKS,
  DEFAULTS,
  CLOUDS,
  type ImportConfig,
  type ImageSpec,
  type RawInputs,
  type InputName,
  type CloudName,
} from './config.js';
export { INPUT_TABLE, type InputDeclaration, type InputType } from './input-table.js';
export * from './reference.js';
export { renderSummary, escapeMarkdown, type SummaryContext } from './summary.js';
export { renderLockFile, parseLockFile, LOCK_VERSION, type LockFile, type LockEntry } from './lock.js';
export {
  toOutputs,
  type RunResult,
  type ImageResult,
  type ImageStatus,
  type RunOutputs,
  type ReferrerResult,
} from './result.js';
export {
  ImportError,
  InputError,
  AuthError,
  RemoteError,
  TimeoutError,
  VerificationError,
  type InputProblem,
} from './errors.js';
export { createUndiciTransport, type Transport, type HttpRequest, type HttpResponse } from './http.js';
export { proxySettingsFromEnv, proxyFor, type ProxySettings } from './proxy.js';
export { requestGithubIdToken } from './identity-http.js';
export {
  systemClock,
  NEUTRAL_WORDING,
  type Clock,
  type HostWording,
  type Logger,
  type SecretSink,
  type EnginePorts,
} from './ports.js';
export { failureKind, FAILURE_KINDS, type FailureKind } from './failure-kind.js';
export type { AuthHost, AuthMode } from './auth.js';
export { loadIdentity } from './auth.js';
export { VERSION, userAgent } from './version.js';
export {
  readWorkspaceFile,
  checkWorkspaceWrite,
  writeWorkspaceFile,
  maskedExcerpt,
  MAX_INPUT_FILE_BYTES,
  type WorkspaceRules,
} from './workspace-files.js';
export {
  checkInputVariables,
  editDistance,
  inputVariableName,
  type InputVariableCheck,
} from './input-variables.js';
export { secretSink } from './masking.js';
export { suspiciousCharacter, describeCharacter } from './characters.js';
