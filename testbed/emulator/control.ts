/**
 * The emulator's test-facing state: fault switches (with their one-shot counters), the request log and the list of
 * secrets it has issued. Also the Control API that exposes them (`POST /faults`, `POST /reset`, `GET /requests`,
 * `DELETE /requests`, `GET /secrets`, `GET /faults`, `GET /operations`, `GET /healthz`). Never called by the action.
 */
import type { Faults, LoggedRequest } from '../types.js';
import { isObject } from './jwt.js';
import { sendJson, type Ctx } from './http.js';

/** Services a network fault (throttle, 5xx, dropped connection) can target. */
export type FaultService = 'arm' | 'entra' | 'hub' | 'oidc' | 'poll' | 'azuredevops';

const FAULT_KEYS: Record<keyof Faults, (v: unknown) => boolean> = {
  syncThresholdMs: isNonNegative,
  importLatencyMs: isNonNegative,
  importLatencyModel: (v) => v === 'copy-first' || v === 'tags-at-end',
  importDelayMs: isNonNegative,
  retryAfter: (v) => isNonNegative(v) || v === 'http-date' || v === 'none',
  failureForm: (v) => v === 'status' || v === 'http',
  failImports: (v) =>
    isObject(v) &&
    isNonNegative(v['count']) &&
    typeof v['code'] === 'string' &&
    typeof v['message'] === 'string',
  hangImports: (v) =>
    typeof v === 'boolean' ||
    (isObject(v) && typeof v['sourceRepository'] === 'string' && v['sourceRepository'] !== ''),
  throttle: (v) =>
    isObject(v) &&
    ['arm', 'entra', 'hub', 'oidc', 'azuredevops'].includes(v['service'] as string) &&
    isNonNegative(v['count']) &&
    (v['retryAfter'] === undefined || isNonNegative(v['retryAfter']) || v['retryAfter'] === 'http-date'),
  serverError: (v) =>
    isObject(v) &&
    ['arm', 'entra', 'hub', 'oidc', 'poll', 'azuredevops'].includes(v['service'] as string) &&
    isNonNegative(v['count']) &&
    typeof v['status'] === 'number' &&
    v['status'] >= 500 &&
    v['status'] <= 599,
  dropConnections: (v) =>
    isObject(v) &&
    ['arm', 'entra', 'oidc', 'azuredevops'].includes(v['service'] as string) &&
    isNonNegative(v['count']),
  tokenScopes: (v) => v === 'all' || v === 'first' || v === 'refuse',
  tokenLifetimeSeconds: (v) => typeof v === 'number' && v > 0,
  oidcSubject: (v) => typeof v === 'string' && v.length > 0,
  asyncOperationHeader: (v) => typeof v === 'boolean',
  locationForm: (v) => v === 'observed' || v === 'spec',
  federatedMismatchCode: (v) => v === 70021 || v === 700213,
  armMetadata: (v) => v === 'current' || v === 'legacy',
  strictNoForce: (v) => typeof v === 'boolean',
  azureReaches: (v) =>
    isObject(v) &&
    Object.entries(v).every(
      ([from, to]) =>
        /^[A-Za-z0-9.-]+(?::\d+)?$/.test(from) && typeof to === 'string' && /^127\.0\.0\.1:\d+$/.test(to),
    ),
  network: (v) =>
    isObject(v) &&
    Object.values(v).every(
      (n) =>
        isObject(n) &&
        Object.entries(n).every(
          ([k, b]) => ['publicNetworkAccess', 'trustedServices'].includes(k) && typeof b === 'boolean',
        ),
    ),
  silentImportDigests: (v) =>
    Array.isArray(v) && v.every((d) => typeof d === 'string' && d.startsWith('sha256:')),
};

function isNonNegative(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** Keep the log bounded: a long demo or benchmark must not grow the emulator without limit. */
const MAX_LOG_ENTRIES = 50_000;

export class ControlState {
  faults: Faults = {};
  readonly log: LoggedRequest[] = [];
  private readonly secrets = new Set<string>();

  /** Validates and merges `patch` into the faults; a `null` value removes that switch. Returns the problems. */
  mergeFaults(patch: unknown): string[] {
    if (!isObject(patch)) return ['the body must be a JSON object of fault switches'];
    const problems: string[] = [];
    const next: Record<string, unknown> = { ...this.faults };
    for (const [key, value] of Object.entries(patch)) {
      const check = FAULT_KEYS[key as keyof Faults] as ((v: unknown) => boolean) | undefined;
      if (!check) problems.push(`unknown fault switch '${key}'`);
      else if (value === null) delete next[key];
      else if (!check(value)) problems.push(`bad value for '${key}': ${JSON.stringify(value)}`);
      else next[key] = value;
    }
    if (problems.length === 0) this.faults = next as Faults;
    return problems;
  }

  reset(): void {
    this.faults = {};
    this.log.length = 0;
  }

  record(entry: LoggedRequest): void {
    this.log.push(entry);
    if (this.log.length > MAX_LOG_ENTRIES) this.log.splice(0, this.log.length - MAX_LOG_ENTRIES);
  }

  addSecret(secret: string | undefined): void {
    if (secret) this.secrets.add(secret);
  }

  issuedSecrets(): string[] {
    return [...this.secrets];
  }

  /** Consumes one unit of a counted network fault aimed at `service`, if one is armed. */
  take<K extends 'throttle' | 'serverError' | 'dropConnections'>(
    kind: K,
    service: FaultService,
  ): Faults[K] | undefined {
    const fault = this.faults[kind];
    if (!fault || fault.service !== service || fault.count <= 0) return undefined;
    const taken = { ...fault };
    if (fault.count <= 1) delete this.faults[kind];
    else this.faults = { ...this.faults, [kind]: { ...fault, count: fault.count - 1 } };
    return taken as Faults[K];
  }

  /** Consumes one armed import failure. */
  takeImportFailure(): { code: string; message: string } | undefined {
    const fault = this.faults.failImports;
    if (!fault || fault.count <= 0) return undefined;
    if (fault.count <= 1) delete this.faults.failImports;
    else this.faults = { ...this.faults, failImports: { ...fault, count: fault.count - 1 } };
    return { code: fault.code, message: fault.message };
  }
}

export interface ControlApiDeps {
  state: ControlState;
  /** Import operations for `GET /operations` (a debugging aid). */
  operations: () => unknown[];
  health: () => Record<string, unknown>;
}

export async function handleControl(ctx: Ctx, deps: ControlApiDeps): Promise<void> {
  const { state } = deps;
  const route = `${ctx.method} ${ctx.path}`;
  switch (route) {
    case 'GET /healthz':
      return sendJson(ctx, 200, { ok: true, ...deps.health() });
    case 'GET /faults':
      return sendJson(ctx, 200, state.faults);
    case 'POST /faults': {
      let patch: unknown;
      try {
        patch = JSON.parse(ctx.body.toString('utf8') || '{}');
      } catch {
        return sendJson(ctx, 400, { error: 'the body is not JSON' });
      }
      const problems = state.mergeFaults(patch);
      if (problems.length > 0) return sendJson(ctx, 400, { error: problems.join('; ') });
      return sendJson(ctx, 200, state.faults);
    }
    case 'POST /reset':
      state.reset();
      return sendJson(ctx, 200, { ok: true });
    case 'GET /requests': {
      const service = ctx.query.get('service');
      return sendJson(ctx, 200, service ? state.log.filter((e) => e.service === service) : state.log);
    }
    case 'DELETE /requests':
      state.log.length = 0;
      return sendJson(ctx, 200, { ok: true });
    case 'GET /secrets':
      return sendJson(ctx, 200, state.issuedSecrets());
    case 'GET /operations':
      return sendJson(ctx, 200, deps.operations());
    default:
      return sendJson(ctx, 404, { error: `no route ${route}` });
  }
}
