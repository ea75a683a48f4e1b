/**
 * What the engine needs from its host. The GitHub Action, the CLI and the Azure Pipelines task each supply these;
 * unit tests supply small fakes.
 */
import type { TokenCredential } from '@azure/identity';
import type { Transport } from './net/http.js';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
}

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fire` once after `ms` (a time limit); the returned function cancels it. */
  timer(ms: number, fire: () => void): () => void;
}

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
  secretFrom: (input, envName) => `pass ${input} from a secret store or the ${envName} environment variable`,
  existingSession: 'sign in with the Azure CLI (az login) first',
  authMode: (mode) => `auth '${mode}'`,
  setInput: (input, value) => `${input}: ${value}`,
};

/** Registers a secret so the host redacts it from every log line from now on. */
export type SecretSink = (secret: string) => void;

export interface EnginePorts {
  logger: Logger;
  mask: SecretSink;
  /** Signs in to Entra ID for the target tenant; when absent the engine builds one from the auth settings. */
  credential?: TokenCredential;
  transport: Transport;
  clock: Clock;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        return;
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
  timer: (ms, fire) => {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  },
};
