/**
 * What kind of problem failed an image, in the terms a host acts on: the CLI turns sign-in and permission problems
 * into their own exit code, and a host may word or colour each kind differently.
 */
import { AuthError, ImportError, InputError, RemoteError, TimeoutError } from '../errors.js';

export const FAILURE_KINDS = [
  'input',
  'sign-in',
  'permission',
  'conflict',
  'not-found',
  'timeout',
  'remote',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

const PERMISSION =
  /AuthorizationFailed|LinkedAuthorizationFailed|does not have authorization|refused to issue/;
const NOT_FOUND =
  /MANIFEST_UNKNOWN|NAME_UNKNOWN|ResourceNotFound|ResourceGroupNotFound|SubscriptionNotFound|not found|NotFound|does not exist|No container registry/i;
const CONFLICT = /already exists?\b/i;

export function failureKind(err: ImportError): FailureKind {
  if (err instanceof InputError) return 'input';
  if (err instanceof TimeoutError) return 'timeout';
  // The engine's tag conflict (force: false) is a VerificationError subclass named for what it is.
  if (err.name === 'ImportConflict') return 'conflict';
  if (err instanceof AuthError) return PERMISSION.test(err.message) ? 'permission' : 'sign-in';
  if (err instanceof RemoteError) {
    if (err.status === 401) return 'sign-in';
    if (err.status === 403 || (err.code !== undefined && PERMISSION.test(err.code))) return 'permission';
    if (err.status === 404 || (err.code !== undefined && NOT_FOUND.test(err.code))) return 'not-found';
    if (err.status === 409) return 'conflict';
    const text = `${err.code ?? ''} ${err.message}`;
    if (PERMISSION.test(text)) return 'permission';
    if (CONFLICT.test(text)) return 'conflict';
    if (NOT_FOUND.test(text)) return 'not-found';
  }
  return 'remote';
}
