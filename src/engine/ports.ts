/**
 * Everything a host supplies to the engine, declared in one place: the logger, the mask, the transport, the clock,
 * the credential source (a TokenCredential, or what the host can offer to build one), the rules for files, and its
 * wording. The GitHub Action, the CLI and the Azure Pipelines task each supply these; unit tests supply small fakes.
 * Declarations only (and the neutral wording): nothing here imports an implementation.
 */
import type { TokenCredential } from '@azure/identity';
import type { EnvFallbacks } from './config/model.js';
import type { HttpClient } from './net/http.js';
import type { HostSignIn, SignInContext } from './run/sign-in.js';

// ---------------------------------------------------------------------------------------------------------------------
// Transport: how one request reaches the network (undici in production, fakes in unit tests)

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** The most bytes the answer's body may have (default DEFAULT_MAX_RESPONSE_BYTES); more fails as too large. */
  maxResponseBytes?: number;
}

export interface HttpResponse {
  status: number;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends one request, no retries, no redirects. Throws only for transport failures (reset, refused, timeout). */
export type Transport = (req: HttpRequest, signal?: AbortSignal) => Promise<HttpResponse>;

// ---------------------------------------------------------------------------------------------------------------------
// Logger, mask, clock

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
}

/**
 * How a host explains its `INPUT_*` variables (Actions and Azure Pipelines pass inputs so): a near miss of an input,
 * and an unknown one that is ignored.
 */
export interface InputVariableWording {
  /** What takes the inputs, e.g. 'action' or 'task'. */
  readonly step: string;
  /** How to rename a misspelt input, e.g. "Rename it in the step's with: block". */
  readonly rename: string;
  /** What to do about an unknown variable that is ignored. */
  readonly ignored: string;
}

/** The same, naming no host. */
export const NEUTRAL_INPUT_VARIABLE_WORDING: InputVariableWording = {
  step: 'step',
  rename: 'Rename it where the step sets its inputs',
  ignored:
    'If it is meant as an input, rename or remove it; if another tool reads it, nothing needs to change.',
};

/** Registers a secret so the host redacts it from every log line from now on. */
export type SecretSink = (secret: string) => void;

/** Time for the engine: every timer of a run (per-image limit, request deadline, sign-in budget, waits) uses it. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fire` once after `ms` (a time limit); the returned function cancels it. */
  timer(ms: number, fire: () => void): () => void;
}

// ---------------------------------------------------------------------------------------------------------------------
// Host wording

/**
 * Phrases only the host can say: how its users set things up. The engine's hints use these instead of naming a
 * workflow's permissions block, a secret syntax or a login step (GitHub: `permissions: id-token: write`; the CLI:
 * `--auth` and environment variables; Azure Pipelines: the service connection).
 */
export interface HostWording {
  /** How to make this host offer an OIDC ID token to the run. */
  readonly idTokenSetup: string;
  /** Short form of the same, for a list of things to add. */
  readonly idTokenMissing: string;
  /** The OIDC ID token this host offers a run, e.g. `a GitHub OIDC ID token`. */
  readonly idTokenName: string;
  /** Where the value of a secret input should come from. */
  secretFrom(input: string, envName: string): string;
  /** How to sign in with a session that already exists (the Azure CLI). */
  readonly existingSession: string;
  /** How to choose a sign-in mode, e.g. `auth: oidc` or `--auth oidc`. */
  authMode(mode: string): string;
  /** How to set an input, e.g. `force: true` in a workflow or `--force` on a command line. */
  setInput(input: string, value: string): string;
}

/** Wording that names no host, for library callers that supply none. */
export const NEUTRAL_WORDING: HostWording = {
  idTokenSetup:
    'Let the host issue an OIDC ID token to this run (the federated credential of the app must trust it).',
  idTokenMissing: 'an OIDC ID token from the host',
  idTokenName: 'an OIDC ID token',
  secretFrom: (input, envName) => `pass ${input} from a secret store or the ${envName} environment variable`,
  existingSession: 'sign in with the Azure CLI (az login) first',
  authMode: (mode) => `auth '${mode}'`,
  setInput: (input, value) => `${input}: ${value}`,
};

// ---------------------------------------------------------------------------------------------------------------------
// Credential source, file access, and the port sets of parseConfig and runImports

/** What the host can offer; the adapter finds out (environment variables, PATH) so the engine does not have to. */
export interface AuthHost {
  /**
   * Fetches an OIDC ID token for an audience; undefined when the host has none (no `id-token: write`). `http` is the
   * engine's client: a host that fetches over HTTP should use it (deadlines, the run's proxy decision).
   */
  idToken: ((audience: string, http: HttpClient) => Promise<string>) | undefined;
  /** Whether an `az` on PATH has a signed-in account (`az account show` succeeds); auth: auto uses it only then. */
  azureCliAvailable: boolean;
  /** Why the Azure CLI cannot sign in (no az on PATH, not signed in): shown when no mode can. */
  azureCliNote?: string;
  /** Whether a managed identity may exist here (false on GitHub-hosted runners, which have none). */
  managedIdentityPossible: boolean;
  /** How this host's users set things up, for the hints (default: wording that names no host). */
  wording?: HostWording;
}

/** The rules for files a user names in an input (workspace-files.ts applies them). */
export interface WorkspaceRules {
  /** The directory input paths are relative to, and must stay in. */
  readonly root: string;
  /** How messages name the root, e.g. 'the workspace (GITHUB_WORKSPACE)' or 'the current directory'. */
  readonly rootName: string;
  /** Allow files outside the root (the CLI's explicit flag); type, size and `.git/` are still checked. */
  readonly allowOutside?: boolean;
  /** How to allow outside paths, for the message (e.g. 'pass --allow-outside-workspace'); absent: not possible. */
  readonly allowOutsideHint?: string;
  /** The size limit; default MAX_INPUT_FILE_BYTES. */
  readonly maxBytes?: number;
}

/** What the adapter lends to `parseConfig`. */
export interface ConfigPorts {
  /** Reads a file given by a user path (relative to the workspace); throws when it cannot. */
  readonly readFile?: (path: string) => string;
  /** Fallbacks for subscription, tenant and client ids. */
  readonly env?: EnvFallbacks;
  /** How the host's users pass a secret, for the message when one is missing. */
  readonly wording?: Pick<HostWording, 'secretFrom'>;
  /** The source ACR by name (the CLI's `--registry NAME`): the sources are then `repo:tag` in it. */
  readonly sourceRegistryName?: string;
}

export interface EnginePorts {
  logger: Logger;
  mask: SecretSink;
  /** Signs in to Entra ID for the target tenant; when absent the engine builds one from the auth settings. */
  credential?: TokenCredential;
  transport: Transport;
  clock: Clock;
}

export interface RunPorts extends EnginePorts {
  authHost: AuthHost;
  /**
   * A host's own sign-in, built once the cloud is known (a custom cloud's authority read from its ARM metadata) and
   * sending through the engine's HTTP client. Wins over `credential` and the auth settings.
   */
  signIn?: (context: SignInContext) => HostSignIn | Promise<HostSignIn>;
}
