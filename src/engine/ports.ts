/**
 * What the engine needs from its host. The GitHub Action, the CLI and the Azure Pipelines task each supply these;
 * unit tests supply small fakes.
 */
import type { TokenCredential } from '@azure/identity';
import type { Transport } from './http.js';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  /** Groups the log lines of one phase (a foldable group in Actions, a section elsewhere). */
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Registers a secret so the host redacts it from every log line from now on. */
export type SecretSink = (secret: string) => void;

export interface EnginePorts {
  logger: Logger;
  mask: SecretSink;
  /** Signs in to Entra ID for the target tenant; when absent the engine builds one from the auth settings. */
  credential?: TokenCredential;
  /** Signs in to the source registry's tenant, when a second federated identity is configured. */
  sourceCredential?: TokenCredential;
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
};
