/**
 * A resolver that does not know `*.unresolvable.test` names, for a runner without DNS for the source registry (a
 * self-hosted runner on a closed network). Loaded into the action's process with
 * `NODE_OPTIONS=--import=<this file's URL>` (see UNRESOLVABLE_DNS_OPTIONS): such names fail at once with
 * `getaddrinfo ENOTFOUND`, as the system resolver answers, and no lookup ever leaves the machine. Other names resolve
 * as usual. Test-only: nothing here enters dist/index.js.
 */
import dns from 'node:dns';

export const UNRESOLVABLE_SUFFIX = '.unresolvable.test';

/** NODE_OPTIONS that load this module into a process. */
export const UNRESOLVABLE_DNS_OPTIONS = `--import=${import.meta.url}`;

type LookupCallback = (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => void;

const original = dns.lookup;
const patched = function (this: unknown, hostname: string, options: unknown, callback?: unknown): void {
  const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
  if (typeof hostname === 'string' && hostname.toLowerCase().endsWith(UNRESOLVABLE_SUFFIX)) {
    const err: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      code: 'ENOTFOUND',
      errno: -3008,
      syscall: 'getaddrinfo',
      hostname,
    });
    process.nextTick(cb, err);
    return;
  }
  (original as (...args: unknown[]) => void).apply(
    this,
    [hostname, options, callback].filter((a) => a !== undefined),
  );
};
// Only inside a process that loaded this file with --import (the test's own process merely reads the constants).
if (
  process.execArgv.some((a) => a.includes('unresolvable-dns')) ||
  (process.env['NODE_OPTIONS'] ?? '').includes('unresolvable-dns')
) {
  (dns as { lookup: unknown }).lookup = patched;
}
