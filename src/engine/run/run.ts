/**
 * A run: sign in and find the target registry (session.ts), then take every image through its stages (image.ts),
 * at most max-parallel at once, or check them all against the lock file first (lock-mode.ts); one result per image.
 */
import type { ImportConfig } from '../config/model.js';
import type { RunResult } from '../report/result.js';
import { handled, mapLimit } from './limits.js';
import { importImage } from './image.js';
import { lockedRun } from './lock-mode.js';
import { Session, type RunPorts } from './session.js';
import type { RegistryResource } from '../clients/arm.js';

export type { RunPorts } from './session.js';

export interface RunOptions {
  /** With `locked: true`: source -> digest from the lock file; any drift fails the run before any import. */
  lock?: ReadonlyMap<string, string>;
}

export async function runImports(
  config: ImportConfig,
  ports: RunPorts,
  options: RunOptions = {},
): Promise<RunResult> {
  const started = ports.clock.now();
  const s = new Session(config, ports);
  s.log.info(`Signing in to Azure (${s.mode}) and finding registry ${describeTarget(config)}`);
  // Start the sign-in and the target lookup at once; source resolution runs beside it.
  const target = s.targetRegistry();
  // The registry-audience token comes from the same sign-in as the ARM token: ask for both at once (issue 11).
  if (config.images.length > 0) handled(() => s.tokens.token(config.cloud.acrScope));
  let registry: RegistryResource | undefined;
  target.then((r) => (registry = r)).catch(() => undefined);
  const results = options.lock
    ? await lockedRun(s, options.lock)
    : await mapLimit(config.images, config.maxParallel, (spec) => importImage(s, spec));
  // Every image is done (each within its timeout); a lookup that is still waiting is not waited for.
  s.stopped.abort(new Error('the run is over'));
  return {
    registry: registry && { name: registry.name, loginServer: registry.loginServer, id: registry.id },
    images: results,
    ok: results.every((r) => r.status !== 'failed'),
    durationMs: ports.clock.now() - started,
    dryRun: config.dryRun,
  };
}

function describeTarget(config: ImportConfig): string {
  const t = config.target;
  return t.kind === 'name' ? t.name : t.kind === 'loginServer' ? t.loginServer : t.resourceId;
}
