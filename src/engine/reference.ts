/**
 * Image references: parse, validate and normalise them the way Docker users expect, following the grammar of the
 * distribution reference (name components, separators, 255-character names, tags, digests).
 *
 * Public library API (`acr-import/reference`). Pure: no I/O, no host globals.
 *
 *   nginx                          -> docker.io/library/nginx:latest
 *   docker.io/nginx:1.27           -> docker.io/library/nginx:1.27
 *   ghcr.io/o/r:v1@sha256:<64 hex> -> ghcr.io/o/r:v1@sha256:...   (the digest wins; the tag is kept for display)
 *   localhost:5000/app, [::1]:5000/app, 127.0.0.1:5000/app
 */

import { InputError } from './errors.js';

/** A parsed, normalised image reference. */
export interface ImageReference {
  /**
   * Registry host, lower-case, with its port if any (`docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`).
   * Absent for a host-less reference (the source registry is then given as an ARM resource ID).
   */
  readonly registry?: string;
  /** Repository path inside the registry, e.g. `library/nginx`. */
  readonly repository: string;
  /** Tag; `latest` when neither tag nor digest was written. Kept for display when a digest is present too. */
  readonly tag?: string;
  /** Manifest digest (`sha256:<64 hex>`); when present it, not the tag, says what to import. */
  readonly digest?: string;
}

/** A target of an import: `repository:tag` inside the target registry. */
export interface TargetTag {
  readonly repository: string;
  readonly tag: string;
}

/** The outcome of a check: the parsed value, or a message that says what is wrong and how to fix it. */
export type ParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

export interface ReferenceOptions {
  /**
   * Host-less mode, for a source given together with `source-registry-resource-id`: `repository[:tag][@digest]`,
   * no registry host, no `library/` insertion.
   */
  readonly hostless?: boolean;
}

/** Docker Hub's canonical name, as Docker writes it. */
export const DOCKER_HUB = 'docker.io';
/** The host that serves Docker Hub's registry API (what digest resolution talks to). */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/** Names Docker Hub also goes by; each is normalised to `docker.io`. */
const DOCKER_HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);

export const DEFAULT_TAG = 'latest';
export const NAME_MAX_LENGTH = 255;
export const TAG_MAX_LENGTH = 128;
/** Hex lengths of the digest algorithms the distribution spec registers. */
export const DIGEST_ALGORITHMS: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

const NAME_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^\w[\w.-]*$/;
const DIGEST_ALGORITHM = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const HEX = /^[0-9a-fA-F]*$/;
const DOMAIN_LABEL = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const DECIMAL = /^[0-9]+$/;

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const fail = <T>(error: string): ParseResult<T> => ({ ok: false, error });

/** Quotes a user value for a message, shortening very long ones (the whole value is shown beside the message). */
export function quote(value: string): string {
  return value.length > 72 ? `'${value.slice(0, 40)}…${value.slice(-16)}'` : `'${value}'`;
}

// ---------------------------------------------------------------------------------------------------------------------
// Public entry points

/**
 * Parses and normalises an image reference; throws an `InputError` naming `input` (default `reference`) when it is
 * not valid.
 */
export function parseImageReference(
  text: string,
  options: ReferenceOptions & { input?: string } = {},
): ImageReference {
  const result = checkImageReference(text, options);
  if (!result.ok)
    throw new InputError([{ input: options.input ?? 'reference', value: text, message: result.error }]);
  return result.value;
}

/** Parses and normalises an image reference without throwing. */
export function checkImageReference(
  text: string,
  options: ReferenceOptions = {},
): ParseResult<ImageReference> {
  const basic = checkText(text, "an image reference, e.g. 'docker.io/library/nginx:1.27'");
  if (!basic.ok) return basic;

  const at = text.indexOf('@');
  if (at !== text.lastIndexOf('@')) {
    return fail("has more than one '@'; write 'repository[:tag]@sha256:<hex>' with one digest");
  }
  const nameAndTag = at === -1 ? text : text.slice(0, at);
  let digest: string | undefined;
  if (at !== -1) {
    const checked = checkDigest(text.slice(at + 1));
    if (!checked.ok) return checked;
    digest = checked.value;
  }

  const { name, tag } = splitTag(nameAndTag);
  if (tag !== undefined) {
    const checked = checkTag(tag);
    if (!checked.ok) return checked;
  }

  const split = splitHost(name);
  let registry: string | undefined;
  let repository = split.path;
  if (options.hostless) {
    if (split.host !== undefined) {
      return fail(
        `${quote(split.host)} is a registry host, but here the registry is given separately; ` +
          `write only the repository path and tag: ${quote(rest(text, split.host))}`,
      );
    }
  } else {
    const host = checkHost(split.host ?? DOCKER_HUB);
    if (!host.ok) return host;
    registry = host.value;
  }

  // Checked before `library/` is added, so that a message quotes what the user wrote.
  const path = checkRepositoryPath(repository);
  if (!path.ok) return path;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;

  const fullName = registry === undefined ? repository : `${registry}/${repository}`;
  if (fullName.length > NAME_MAX_LENGTH) {
    return fail(
      `name ${quote(fullName)} is ${fullName.length} characters long; the limit is ${NAME_MAX_LENGTH} ` +
        `(registry host and repository path together): use a shorter repository path`,
    );
  }

  return ok({
    ...(registry !== undefined && { registry }),
    repository,
    ...(tag !== undefined ? { tag } : digest === undefined && { tag: DEFAULT_TAG }),
    ...(digest !== undefined && { digest }),
  });
}

/** Checks a target `repository[:tag]` (no registry host, no digest). The tag is absent when not written. */
export function checkTargetTag(text: string): ParseResult<{ repository: string; tag?: string }> {
  const basic = checkText(text, "a target 'repository[:tag]', e.g. 'apps/web:1.0'");
  if (!basic.ok) return basic;
  if (text.includes('@')) {
    return fail(
      `a target cannot carry a digest: the digest comes from the source; write 'repository[:tag]', e.g. ${quote(text.slice(0, text.indexOf('@')) || 'app:1.0')}`,
    );
  }
  const { name, tag } = splitTag(text);
  const host = splitHost(name).host;
  if (host !== undefined) {
    return fail(
      `${quote(host)} is a registry host; a target names only the repository and tag inside the target registry (the registry input): write ${quote(rest(text, host))}`,
    );
  }
  if (tag !== undefined) {
    const checked = checkTag(tag);
    if (!checked.ok) return checked;
  }
  const path = checkRepositoryPath(name);
  if (!path.ok) return path;
  if (name.length > NAME_MAX_LENGTH) {
    return fail(`repository ${quote(name)} is longer than ${NAME_MAX_LENGTH} characters; use a shorter path`);
  }
  return ok({ repository: name, ...(tag !== undefined && { tag }) });
}

/** Checks a bare repository path (no host, tag or digest), e.g. for untagged target repositories. */
export function checkRepository(text: string): ParseResult<string> {
  const basic = checkText(text, "a repository path, e.g. 'apps/web'");
  if (!basic.ok) return basic;
  if (text.includes('@') || splitTag(text).tag !== undefined) {
    return fail(
      `a repository has no tag or digest here; write only the path, e.g. ${quote(text.split(/[@:]/)[0] || 'apps/web')}`,
    );
  }
  const host = splitHost(text).host;
  if (host !== undefined) {
    return fail(
      `${quote(host)} is a registry host; write only the repository path: ${quote(rest(text, host))}`,
    );
  }
  const path = checkRepositoryPath(text);
  if (!path.ok) return path;
  if (text.length > NAME_MAX_LENGTH) {
    return fail(`repository ${quote(text)} is longer than ${NAME_MAX_LENGTH} characters; use a shorter path`);
  }
  return ok(text);
}

/** Checks a digest `algorithm:hex`; only the registered algorithms (sha256, sha512) are accepted. */
export function checkDigest(text: string): ParseResult<string> {
  if (text === '')
    return fail("the digest after '@' is empty; write e.g. 'sha256:' followed by 64 hex characters");
  const colon = text.indexOf(':');
  if (colon === -1) {
    return fail(
      `digest ${quote(text)} must be 'algorithm:hex', e.g. 'sha256:' followed by 64 hex characters`,
    );
  }
  const algorithm = text.slice(0, colon);
  const encoded = text.slice(colon + 1);
  if (!DIGEST_ALGORITHM.test(algorithm)) {
    return fail(
      `digest algorithm ${quote(algorithm)} is not valid; use 'sha256:' followed by 64 hex characters`,
    );
  }
  const length = DIGEST_ALGORITHMS[algorithm];
  if (length === undefined) {
    return fail(
      `digest algorithm ${quote(algorithm)} is not supported; use sha256 (or sha512), as registries compute them`,
    );
  }
  if (!HEX.test(encoded)) {
    return fail(`digest ${quote(text)} must have only hex characters (0-9, a-f) after '${algorithm}:'`);
  }
  if (encoded.length !== length) {
    return fail(
      `digest ${quote(text)} must have ${length} hex characters (it has ${encoded.length}); copy it whole`,
    );
  }
  if (encoded !== encoded.toLowerCase()) {
    return fail(
      `digest ${quote(text)} must use lowercase hex; use ${quote(`${algorithm}:${encoded.toLowerCase()}`)}`,
    );
  }
  return ok(text);
}

/** Checks a tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. */
export function checkTag(tag: string): ParseResult<string> {
  if (tag === '') return fail("the tag after ':' is empty; write 'repository:tag' or leave out the ':'");
  if (tag.length > TAG_MAX_LENGTH) {
    return fail(
      `tag ${quote(tag)} is longer than ${TAG_MAX_LENGTH} characters (${tag.length}); use a shorter tag`,
    );
  }
  if (!TAG.test(tag)) {
    return fail(
      `tag ${quote(tag)} is not valid: a tag starts with a letter, digit or '_' and continues with letters, digits, '_', '.' or '-'`,
    );
  }
  return ok(tag);
}

// ---------------------------------------------------------------------------------------------------------------------
// Helpers for the engine

/** `[registry/]repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  const host = ref.registry === undefined ? '' : `${ref.registry}/`;
  const tag = ref.tag === undefined ? '' : `:${ref.tag}`;
  const digest = ref.digest === undefined ? '' : `@${ref.digest}`;
  return `${host}${ref.repository}${tag}${digest}`;
}

/** `repository:tag`. */
export function formatTarget(target: TargetTag): string {
  return `${target.repository}:${target.tag}`;
}

/**
 * The `sourceImage` field of an importImage body: the repository path with `@digest` when there is one, else `:tag`;
 * never a host. Pass `digest` to import a pinned digest instead of what the reference says.
 */
export function sourceImage(ref: ImageReference, digest: string | undefined = ref.digest): string {
  return digest === undefined ? `${ref.repository}:${ref.tag ?? DEFAULT_TAG}` : `${ref.repository}@${digest}`;
}

/** What to ask a registry for under `/v2/<repository>/manifests/<...>`: the digest, else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** The host that serves a registry's API: `docker.io` -> `registry-1.docker.io`; every other host is its own. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : registry;
}

/**
 * The registry host written at the start of a reference, by Docker's rule (the first `/`-separated component is a host
 * when it contains `.` or `:` or is `localhost`), or undefined when there is none.
 */
export function registryHostOf(text: string): string | undefined {
  const at = text.indexOf('@');
  return splitHost(splitTag(at === -1 ? text : text.slice(0, at)).name).host;
}

// ---------------------------------------------------------------------------------------------------------------------
// Internals

/** Checks that apply to every kind of reference text before it is split. */
function checkText(text: string, what: string): ParseResult<string> {
  if (text === '') return fail(`the value is empty; write ${what}`);
  if (text.trim() === '') return fail(`the value is only whitespace; write ${what}`);
  if (/\s/.test(text)) return fail(`${quote(text)} contains whitespace; remove it (write ${what})`);
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(text);
  if (scheme) {
    return fail(
      `a reference has no URL scheme; remove ${quote(scheme[0])} and write ${quote(text.slice(scheme[0].length))}`,
    );
  }
  return ok(text);
}

/** Splits `name[:tag]` at the last `:` after the last `/` (a `:` before a `/` belongs to a host's port). */
function splitTag(nameAndTag: string): { name: string; tag?: string } {
  const colon = nameAndTag.lastIndexOf(':');
  if (colon === -1 || colon < nameAndTag.lastIndexOf('/')) return { name: nameAndTag };
  return { name: nameAndTag.slice(0, colon), tag: nameAndTag.slice(colon + 1) };
}

/** Splits a name into host and path by Docker's rule; see `registryHostOf`. */
function splitHost(name: string): { host?: string; path: string } {
  const slash = name.indexOf('/');
  if (slash <= 0) return { path: name };
  const first = name.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return { host: first, path: name.slice(slash + 1) };
  }
  return { path: name };
}

/** What is left of `text` once `host/` is removed from its start. */
function rest(text: string, host: string): string {
  return text.slice(host.length + 1) || 'repository:tag';
}

/** Validates `host[:port]` (DNS name, IPv4 or bracketed IPv6) and normalises it (lower case, Docker Hub aliases). */
function checkHost(hostAndPort: string): ParseResult<string> {
  let host = hostAndPort;
  let port: string | undefined;
  if (hostAndPort.startsWith('[')) {
    const close = hostAndPort.indexOf(']');
    if (close === -1)
      return fail(`registry host ${quote(hostAndPort)} opens '[' without ']'; write e.g. '[::1]:5000'`);
    host = hostAndPort.slice(0, close + 1);
    const after = hostAndPort.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) {
        return fail(
          `registry host ${quote(hostAndPort)} has text after ']'; write '[address]' or '[address]:port'`,
        );
      }
      port = after.slice(1);
    }
    if (!isIpv6(host.slice(1, -1))) {
      return fail(`registry host ${quote(host)} is not a valid IPv6 address; write e.g. '[::1]:5000'`);
    }
  } else {
    const colon = hostAndPort.indexOf(':');
    if (colon !== -1) {
      host = hostAndPort.slice(0, colon);
      port = hostAndPort.slice(colon + 1);
    }
    if (host === '') return fail(`registry host ${quote(hostAndPort)} has no host name before ':'`);
    const bad = host.split('.').find((label) => !DOMAIN_LABEL.test(label));
    if (bad !== undefined) {
      return fail(
        `registry host ${quote(host)} is not a valid host name: each dot-separated label must be letters, digits and inner '-'` +
          (bad === '' ? ' (remove the empty label)' : ` (label ${quote(bad)})`),
      );
    }
  }
  if (port !== undefined) {
    if (!DECIMAL.test(port)) {
      return fail(
        `port ${quote(port)} of registry ${quote(hostAndPort)} is not a number; write e.g. 'localhost:5000'`,
      );
    }
    const n = Number(port);
    if (n < 1 || n > 65535)
      return fail(`port ${quote(port)} of registry ${quote(hostAndPort)} is out of range; use 1-65535`);
  }
  const normalised = (port === undefined ? host : `${host}:${port}`).toLowerCase();
  return ok(DOCKER_HUB_ALIASES.has(normalised) ? DOCKER_HUB : normalised);
}

/** The IPv6 text forms the reference grammar allows in brackets: hex groups and `::`, no zone, no embedded IPv4. */
function isIpv6(address: string): boolean {
  if (!/^[0-9a-fA-F:]+$/.test(address)) return false;
  const halves = address.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === '' ? [] : half.split(':')));
  if (groups.some((g) => g.length < 1 || g.length > 4)) return false;
  return halves.length === 2 ? groups.length <= 7 : groups.length === 8;
}

/** Validates a repository path: `/`-separated components of lowercase letters and digits with inner separators. */
function checkRepositoryPath(path: string): ParseResult<string> {
  if (path === '') return fail("the repository is empty; write e.g. 'library/nginx:1.27'");
  const components = path.split('/');
  if (components.some((c) => c === '')) {
    return fail(
      `repository ${quote(path)} has an empty path component; remove the leading, trailing or doubled '/'`,
    );
  }
  if (components.every((c) => NAME_COMPONENT.test(c))) return ok(path);
  const lower = path.toLowerCase();
  if (lower !== path && lower.split('/').every((c) => NAME_COMPONENT.test(c))) {
    return fail(`repository ${quote(path)} has upper-case letters; use lowercase: ${quote(lower)}`);
  }
  const bad = components.find((c) => !NAME_COMPONENT.test(c)) ?? path;
  return fail(
    `repository component ${quote(bad)} is not valid: use lowercase letters and digits, joined by '.', '_', '__' or '-' ` +
      `(no separator at the start or end; '.' and '_' not repeated, except as '__')`,
  );
}
