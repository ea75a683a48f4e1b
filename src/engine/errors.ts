/**
 * Errors are data: each carries a message (what went wrong) and a hint (what the user should change).
 * Adapters print `message` and `hint`; the CLI maps `kind` to an exit code.
 */

export type ErrorKind = 'input' | 'auth' | 'remote' | 'timeout' | 'verification';

export abstract class ImportError extends Error {
  abstract readonly kind: ErrorKind;
  readonly hint: string | undefined;

  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = hint;
  }

  /** Message and hint as one text, the way a user should read it. */
  describe(): string {
    return this.hint ? `${this.message}\n${this.hint}` : this.message;
  }
}

/** One problem with one input. */
export interface InputProblem {
  /** The input's public name, e.g. `target-tags` or `images line 3`. */
  input: string;
  /** The offending value as the user wrote it (already redacted when secret). */
  value: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/** How many problems an `InputError`'s message lists; `problems` holds them all. */
export const MAX_LISTED_PROBLEMS = 50;

/** Every problem found in the inputs, reported together before any network call. */
export class InputError extends ImportError {
  readonly kind = 'input';
  readonly problems: readonly InputProblem[];

  constructor(problems: readonly InputProblem[]) {
    super(InputError.format(problems));
    this.problems = problems;
  }

  private static format(problems: readonly InputProblem[]): string {
    // 5,000 bad entries in an images file are one readable error: the first ones, and how many more.
    const lines = problems
      .slice(0, MAX_LISTED_PROBLEMS)
      .map((p) => `- ${p.input}: ${p.message} (got ${JSON.stringify(p.value)})`);
    const rest = problems.length - MAX_LISTED_PROBLEMS;
    if (rest > 0) lines.push(`… and ${rest} more (fix the ones above, then run again to see the rest)`);
    const head = problems.length === 1 ? 'Invalid input:' : `${problems.length} invalid inputs:`;
    return [head, ...lines].join('\n');
  }
}

/** Signing in failed, or no way to sign in was configured. */
export class AuthError extends ImportError {
  readonly kind = 'auth';
}

/** A remote service (ARM, Entra, a registry) answered with an error, or could not be reached. */
export class RemoteError extends ImportError {
  readonly kind = 'remote';
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly service: string;

  constructor(init: {
    service: string;
    message: string;
    hint?: string | undefined;
    status?: number | undefined;
    code?: string | undefined;
    retryable?: boolean;
    retryAfterMs?: number | undefined;
    cause?: unknown;
  }) {
    super(init.message, init.hint, { cause: init.cause });
    this.service = init.service;
    this.status = init.status;
    this.code = init.code;
    this.retryable = init.retryable ?? false;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** Something did not finish within its time limit. */
export class TimeoutError extends ImportError {
  readonly kind = 'timeout';
}

/** The target does not hold what we imported. */
export class VerificationError extends ImportError {
  readonly kind = 'verification';
}

/** Wraps anything thrown into an ImportError so callers can rely on message + hint. */
export function asImportError(err: unknown): ImportError {
  if (err instanceof ImportError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RemoteError({ service: 'unknown', message, cause: err });
}
