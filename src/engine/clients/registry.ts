/**
 * Registry v2 / OCI distribution client: just what the engine needs to pin and verify digests.
 * It answers registry challenges (Bearer token flow, Basic) through an authorizer, so the same client reads Docker Hub
 * anonymously, a private registry with a password, and an ACR with an Entra-exchanged token.
 */
import { createHash } from 'node:crypto';
import { abortable } from '../abortable.js';
import { RemoteError } from '../errors.js';
import { formatBytes, jsonBody, parseRetryAfter, type HttpClient, type HttpResponse } from '../net/http.js';
import type { SecretSink } from '../ports.js';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** Index and list types first: without them a registry may answer with one platform's manifest (another digest). */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.dockerManifest,
].join(', ');

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerList;
}

export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` (quoted or bare values). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(match[2]!); m; m = re.exec(match[2]!)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme, params };
}

/** Produces the Authorization header value for a registry request. */
export interface RegistryAuthorizer {
  /** True when a token can be had before any challenge (ACR, or a registry whose challenge was learned). */
  readonly preemptive: boolean;
  /** Whether it has credentials to offer (a 401 then means they were refused); assumed true when absent. */
  readonly hasCredentials?: boolean;
  /**
   * Whether it learns the registry's challenge from the first request: the client then holds the others of the first
   * wave until that answer is in, so that they need not meet the challenge too.
   */
  readonly learnsChallenge?: boolean;
  /** Returns the header for `scope`, or undefined when it has nothing to offer for this challenge. */
  authorize(scope: string, challenge: Challenge | undefined): Promise<string | undefined>;
  /**
   * One header good for several scopes, before any challenge (a preemptive authorizer whose token server takes
   * several scopes in one request). The token may cover fewer than were asked for: the registry then answers 401 for
   * the others, and the client asks for them one by one.
   */
  authorizeMany?(scopes: string[]): Promise<string>;
}

/** Scopes per token asked for together: enough for a batch's first wave, and a token that stays a few KB. */
const SCOPES_PER_TOKEN = 16;

export interface BasicCredentials {
  username: string;
  password: string;
}

/**
 * Anonymous or username/password access as a Docker client does it: Basic where the registry asks for Basic,
 * otherwise a token from the challenge's realm (with Basic credentials at the realm when we have them).
 *
 * The first challenge teaches it how this registry is asked (issue 11): later repositories get their Basic header or
 * their token before their first request, instead of each meeting the challenge, and the tokens asked for in the same
 * turn of the event loop come from one request with several `scope` parameters (the token spec's form). Should that
 * request fail, each scope asks on its own; a token covering fewer than were asked for shows as a 401, which the
 * client answers with that repository's own challenge.
 */
export class TokenServerAuthorizer implements RegistryAuthorizer {
  /** The registry's challenge (scheme, realm and service), once a request met one. */
  private learned: Challenge | undefined;
  /** Token requests being gathered for the learned realm, sent together at the end of this turn. */
  private gathering: { scopes: string[]; token: Promise<string | undefined> } | undefined;

  get preemptive(): boolean {
    return this.learned !== undefined;
  }

  get hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /**
   * @param learnsChallenge false for a registry known to answer without a challenge (its first wave need not wait for
   *   the first answer, since there is nothing to learn from it).
   */
  constructor(
    private readonly http: HttpClient,
    private readonly mask: SecretSink,
    private readonly credentials: BasicCredentials | undefined,
    private readonly service: string,
    readonly learnsChallenge = true,
  ) {}

  authorize(scope: string, challenge: Challenge | undefined): Promise<string | undefined> {
    if (!challenge) return this.learned ? this.gathered(scope) : Promise.resolve(undefined);
    const wanted = challenge.params['scope'] ?? scope;
    if (this.learned) return this.token([wanted], challenge);
    const { realm, service } = challenge.params;
    this.learned = {
      scheme: challenge.scheme,
      params: { ...(realm ? { realm } : {}), ...(service ? { service } : {}) },
    };
    // The first challenge's token is asked for together with those of the requests that waited for it.
    return this.gathered(wanted);
  }

  private basic(): string | undefined {
    return this.credentials
      ? `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`
      : undefined;
  }

  /** `scope` from the learned realm, in one request with the others asked for in this turn. */
  private gathered(scope: string): Promise<string | undefined> {
    const learned = this.learned!;
    if (learned.scheme === 'basic') return Promise.resolve(this.basic());
    let batch = this.gathering;
    if (!batch || batch.scopes.length >= SCOPES_PER_TOKEN) {
      const scopes: string[] = [];
      const token = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.gathering === batch) this.gathering = undefined;
        return this.token(scopes, learned);
      });
      token.catch(() => undefined);
      batch = { scopes, token };
      this.gathering = batch;
    }
    const { scopes, token } = batch;
    scopes.push(scope);
    return token.catch((err: unknown) => {
      if (scopes.length === 1) throw err;
      return this.token([scope], learned);
    });
  }

  private async token(scopes: string[], challenge: Challenge): Promise<string | undefined> {
    const basic = this.basic();
    if (challenge.scheme === 'basic') return basic;
    const realm = challenge.params['realm'];
    if (!realm) return undefined;
    const url = new URL(realm);
    if (url.protocol !== 'https:') {
      throw new RemoteError({
        service: this.service,
        message: `${this.service} sent its token realm over plain HTTP (${url.origin}); refusing to send credentials there.`,
      });
    }
    if (challenge.params['service']) url.searchParams.set('service', challenge.params['service']);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const what = `token request for ${scopes.join(' ')}`;
    const res = await this.http.send(
      { method: 'GET', url: url.toString(), headers: basic ? { authorization: basic } : {} },
      { service: `${this.service} token server`, followRedirects: false },
    );
    if (res.status !== 200) {
      const err = registryError(this.http.now(), this.service, res, what, this.credentials !== undefined);
      if (res.status === 401 && !this.credentials && isAcrChallenge(challenge, url)) {
        // An Azure container registry the identity could not find in the subscription (no read right on it).
        throw new RemoteError({
          service: err.service,
          status: err.status,
          code: err.code,
          message: err.message,
          hint:
            `${this.service} is an Azure container registry that the signed-in identity cannot see in the subscription, so the action cannot import it with Entra permissions. ` +
            'Grant the identity Reader (registries/read) and AcrPull on that registry (or "Container Registry Data Importer and Data Reader"); ' +
            'for a registry in another subscription or with public access disabled, give source-registry-resource-id instead; for another tenant, source-username and source-password, or source-tenant-id and source-client-id.',
        });
      }
      throw err;
    }
    const body = jsonBody(res) as { token?: unknown; access_token?: unknown } | undefined;
    const token = typeof body?.token === 'string' ? body.token : body?.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new RemoteError({
        service: this.service,
        message: `${this.service}'s token server returned no token.`,
      });
    }
    // A token got without credentials is not a secret (anyone can get the same one): masking it would only add one
    // mask per repository. One got with credentials is.
    if (this.credentials) this.mask(token);
    return `Bearer ${token}`;
  }
}

/** ACR's challenge: the realm is the registry's own `/oauth2/token`, and the service is its login server. */
function isAcrChallenge(challenge: Challenge, realm: URL): boolean {
  const service = challenge.params['service']?.toLowerCase();
  return realm.pathname === '/oauth2/token' && service !== undefined && service === realm.host.toLowerCase();
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number | undefined;
}

export interface Manifest extends ManifestInfo {
  bytes: Buffer;
}

export class RegistryClient {
  private readonly authCache = new Map<string, Promise<string | undefined>>();
  /** Scopes to be asked for together (expectRepositories), each with the others of its group. */
  private readonly groups = new Map<string, string[]>();
  /** Settles once the first request sent without credentials has its answer (authorizedSend). */
  private firstContact: Promise<void> | undefined;
  readonly baseUrl: string;

  /**
   * @param host API host as dialled: `registry-1.docker.io`, `myacr.azurecr.io`, `127.0.0.1:5000`.
   * @param label how errors name this registry (usually the host the user wrote).
   */
  constructor(
    private readonly http: HttpClient,
    host: string,
    private readonly authorizer: RegistryAuthorizer,
    readonly label: string = host,
  ) {
    this.baseUrl = `https://${host}`;
  }

  /** A manifest request's answer other than 200 or 404, as the error to report. */
  private manifestError(res: HttpResponse, repository: string, reference: string): RemoteError {
    return registryError(
      this.http.now(),
      this.label,
      res,
      `${repository}:${reference}`,
      this.authorizer.hasCredentials ?? true,
    );
  }

  /** The manifest a reference points to, or undefined when the registry says it does not exist. */
  async headManifest(
    repository: string,
    reference: string,
    signal?: AbortSignal,
  ): Promise<ManifestInfo | undefined> {
    const res = await this.manifestRequest('HEAD', repository, reference, signal);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.manifestError(res, repository, reference);
    const digest = res.headers['docker-content-digest'];
    if (digest) this.checkDigestHeader(digest, repository, reference, undefined);
    if (!digest) {
      // Older registries omit the header: the digest is the hash of the exact bytes a GET returns.
      const full = await this.getManifest(repository, reference, signal);
      return full && { digest: full.digest, mediaType: full.mediaType, size: full.size };
    }
    return { digest, mediaType: mediaTypeOf(res), size: sizeOf(res) };
  }

  async getManifest(
    repository: string,
    reference: string,
    signal?: AbortSignal,
  ): Promise<Manifest | undefined> {
    const res = await this.manifestRequest('GET', repository, reference, signal);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw this.manifestError(res, repository, reference);
    const header = res.headers['docker-content-digest'];
    const algorithm = (isDigest(reference) ? reference : (header ?? '')).startsWith('sha512:')
      ? 'sha512'
      : 'sha256';
    const computed = digestOf(res.body, algorithm);
    if (header) this.checkDigestHeader(header, repository, reference, computed);
    if (isDigest(reference) && computed !== reference) {
      throw new RemoteError({
        service: this.label,
        message: `${this.label} returned a manifest for ${repository}@${reference} whose content hashes to ${computed}.`,
        hint: 'The registry or a proxy in between altered the manifest; do not trust this source.',
      });
    }
    const digest = header ?? computed;
    const fromBody = (jsonBody(res) as { mediaType?: unknown } | undefined)?.mediaType;
    const mediaType = mediaTypeOf(res) || (typeof fromBody === 'string' ? fromBody : '');
    return { digest, mediaType, size: res.body.length, bytes: res.body };
  }

  /**
   * A registry's Docker-Content-Digest is believed only when it is a well-formed digest, names the manifest that was
   * asked for by digest, and is the hash of the bytes that came with it.
   */
  private checkDigestHeader(
    header: string,
    repository: string,
    reference: string,
    computed: string | undefined,
  ): void {
    const problem = !isDigest(header)
      ? 'a malformed Docker-Content-Digest'
      : isDigest(reference) && header !== reference
        ? `Docker-Content-Digest ${header} for the manifest asked for by digest`
        : computed !== undefined && header !== computed
          ? `Docker-Content-Digest ${header} for a manifest whose content hashes to ${computed}`
          : undefined;
    if (!problem) return;
    throw new RemoteError({
      service: this.label,
      code: 'DigestMismatch',
      message: `${this.label} answered ${problem} (${repository}:${reference}); refusing to use it.`,
      hint: 'The registry or a proxy in between sent a digest that does not match the manifest: do not trust this source; import from another registry, or by a digest you verified.',
    });
  }

  private async manifestRequest(
    method: 'GET' | 'HEAD',
    repository: string,
    reference: string,
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    if (!isDigest(reference) && !TAG.test(reference)) {
      // Whatever ends up here goes into a URL path with this registry's token: only a tag or a digest may.
      throw new RemoteError({
        service: this.label,
        code: 'InvalidReference',
        message: `Refusing to ask ${this.label} for ${repository}:${JSON.stringify(reference).slice(0, 80)}: not a tag or a digest.`,
      });
    }
    const scope = pullScope(repository);
    const url = `${this.baseUrl}/v2/${repository}/manifests/${reference}`;
    const send = async (authorization: string | undefined): Promise<HttpResponse> => {
      try {
        return await this.http.send(
          {
            method,
            url,
            headers: { accept: MANIFEST_ACCEPT, ...(authorization ? { authorization } : {}) },
            maxResponseBytes: MAX_MANIFEST_BYTES,
          },
          { service: `registry ${this.label}`, ...(signal ? { signal } : {}) },
        );
      } catch (err) {
        if (err instanceof RemoteError && err.code === 'ResponseTooLarge') {
          throw new RemoteError({
            service: this.label,
            code: 'ManifestTooLarge',
            message: `${this.label} sent a manifest larger than ${formatBytes(MAX_MANIFEST_BYTES)} for ${repository}:${reference}; refusing to read it (registries refuse manifests that large).`,
            hint: 'This is not an image manifest a registry would accept: check source, and do not trust this registry.',
            cause: err,
          });
        }
        throw err;
      }
    };
    return this.authorizedSend(scope, send, signal);
  }

  /**
   * Sends with the authorization cached for `scope`, and answers a 401's challenge once. While the first request
   * without credentials is out, the others wait for its answer: it teaches the authorizer how this registry is asked,
   * so they need not meet the challenge themselves (one request each fewer, issue 11).
   */
  private async authorizedSend(
    scope: string,
    send: (authorization: string | undefined) => Promise<HttpResponse>,
    signal: AbortSignal | undefined,
  ): Promise<HttpResponse> {
    if (this.firstContact && !this.authorizer.preemptive) {
      await (signal ? abortable(this.firstContact, signal) : this.firstContact);
    }
    let release: (() => void) | undefined;
    // Claimed before anything is awaited: requests started in the same turn must see it.
    if (
      this.authorizer.learnsChallenge &&
      !this.authorizer.preemptive &&
      !this.firstContact &&
      !this.authCache.has(scope)
    ) {
      this.firstContact = new Promise<void>((resolve) => (release = resolve));
    }
    const cached = this.cachedAuthorization(scope, undefined);
    try {
      let authorization = await cached;
      let res = await send(authorization);
      if (res.status === 401) {
        // First contact, or the cached token expired or does not cover this repository: answer the challenge once.
        // Only the token this request sent is dropped: one that a parallel request got meanwhile serves this one
        // too (one token for many images).
        if (authorization !== undefined && this.authCache.get(scope) === cached) this.authCache.delete(scope);
        const answer = this.cachedAuthorization(scope, parseChallenge(res.headers['www-authenticate']));
        // The challenge is learned now (the authorizer takes it in synchronously): the waiting requests may go.
        release?.();
        authorization = await answer;
        if (authorization) res = await send(authorization);
      }
      return res;
    } finally {
      release?.();
    }
  }

  /**
   * A GET of another `/v2/<repository>/...` resource with pull rights (the referrers API): `path` is relative to the
   * registry, or an absolute URL on this registry (a `Link` header's next page); any other origin is refused.
   */
  async getResource(
    repository: string,
    path: string,
    accept: string,
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    const url = new URL(path, this.baseUrl);
    if (url.origin !== new URL(this.baseUrl).origin) {
      throw new RemoteError({
        service: this.label,
        message: `${this.label} pointed to another host (${url.origin}) for ${repository}; not followed.`,
      });
    }
    const scope = pullScope(repository);
    const send = (authorization: string | undefined): Promise<HttpResponse> =>
      this.http.send(
        {
          method: 'GET',
          url: url.toString(),
          headers: { accept, ...(authorization ? { authorization } : {}) },
        },
        { service: `registry ${this.label}`, ...(signal ? { signal } : {}) },
      );
    return this.authorizedSend(scope, send, signal);
  }

  /** The error for an unexpected answer to `getResource`. */
  resourceError(res: HttpResponse, what: string): RemoteError {
    return registryError(this.http.now(), this.label, res, what, true);
  }

  /**
   * The repositories this run will read here (a batch's targets): where the authorizer can, the first read of one
   * gets a single token for it and the next ones in the list (up to SCOPES_PER_TOKEN), instead of a token request
   * per repository, each on a connection of its own (issue 11). Should that request fail, each repository asks for
   * its own token as before, so a failure reads the same.
   */
  expectRepositories(repositories: Iterable<string>): void {
    if (!this.authorizer.authorizeMany) return;
    const scopes = [...new Set([...repositories].map(pullScope))].filter(
      (scope) => !this.authCache.has(scope) && !this.groups.has(scope),
    );
    for (let i = 0; i < scopes.length; i += SCOPES_PER_TOKEN) {
      const group = scopes.slice(i, i + SCOPES_PER_TOKEN);
      for (const scope of group) this.groups.set(scope, group);
    }
  }

  private cachedAuthorization(scope: string, challenge: Challenge | undefined): Promise<string | undefined> {
    let cached = this.authCache.get(scope);
    if (!cached) {
      if (!challenge && !this.authorizer.preemptive) return Promise.resolve(undefined);
      const group = challenge ? undefined : this.groups.get(scope);
      if (group && group.length > 1 && this.authorizer.authorizeMany)
        return this.authorizeGroup(group, scope);
      cached = this.authorizer.authorize(scope, challenge);
      this.remember(scope, cached);
    }
    return cached;
  }

  /** One token for the scopes of `group` not yet asked for; a scope whose shared request fails asks on its own. */
  private authorizeGroup(group: string[], wanted: string): Promise<string | undefined> {
    const pending = group.filter((scope) => !this.authCache.has(scope));
    for (const scope of group) this.groups.delete(scope);
    const shared = this.authorizer.authorizeMany!(pending);
    for (const scope of pending) {
      this.remember(
        scope,
        shared.catch(() => this.authorizer.authorize(scope, undefined)),
      );
    }
    return this.authCache.get(wanted)!;
  }

  private remember(scope: string, authorization: Promise<string | undefined>): void {
    this.authCache.set(scope, authorization);
    authorization.catch(() => {
      if (this.authCache.get(scope) === authorization) this.authCache.delete(scope);
    });
  }
}

function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** Registries refuse manifests over 4 MiB (distribution's limit, and ACR's): nothing larger is read. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
/** The OCI distribution tag grammar. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** A digest in the form registries use (`sha256:` + 64 hex digits, or sha512), nothing else. */
export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

function digestOf(bytes: Buffer, algorithm: 'sha256' | 'sha512'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

function mediaTypeOf(res: HttpResponse): string {
  return (res.headers['content-type'] ?? '').split(';')[0]!.trim();
}

function sizeOf(res: HttpResponse): number | undefined {
  const n = Number(res.headers['content-length']);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

interface OciErrorBody {
  errors?: { code?: string; message?: string }[];
}

/** The first OCI error code and message in a registry error body. */
export function ociError(res: HttpResponse): { code: string | undefined; message: string | undefined } {
  const first = (jsonBody(res) as OciErrorBody | undefined)?.errors?.[0];
  return { code: first?.code, message: first?.message };
}

function registryError(
  now: number,
  label: string,
  res: HttpResponse,
  what: string,
  hadCredentials: boolean,
): RemoteError {
  const { code, message } = ociError(res);
  const detail = [code, message].filter(Boolean).join(': ') || `HTTP ${res.status}`;
  let hint: string | undefined;
  if (res.status === 401) {
    hint = hadCredentials
      ? 'The registry refused the credentials: check source-username/source-password (a Docker Hub access token, not the account password, when 2FA is on), and that the account may pull this repository.'
      : 'This registry needs credentials: set source-username and source-password. For Docker Hub official images the repository needs the library/ prefix (docker.io/library/nginx).';
  } else if (res.status === 403) {
    hint =
      'The registry denied access: for an ACR with public network access disabled, give the source as source-registry-resource-id (import then goes through Azure, not the runner).';
  } else if (res.status === 429) {
    hint =
      'The registry is rate-limiting pulls (Docker Hub allows few anonymous pulls per IP): pass source-username and source-password so pulls count against an account.';
  }
  return new RemoteError({
    service: label,
    status: res.status,
    code,
    message: `${label} answered ${res.status} for ${what}: ${detail}`,
    hint,
    retryable: res.status === 429 || res.status >= 500,
    retryAfterMs: parseRetryAfter(res.headers['retry-after'], now),
  });
}

/** Platforms listed by an index, attestation manifests left out. */
export function platformsOf(manifest: Buffer): { platform: string; digest: string }[] {
  let doc: unknown;
  try {
    doc = JSON.parse(manifest.toString('utf8'));
  } catch {
    return [];
  }
  const entries = (doc as { manifests?: unknown }).manifests;
  if (!Array.isArray(entries)) return [];
  const out: { platform: string; digest: string }[] = [];
  for (const entry of entries as {
    digest?: unknown;
    platform?: { os?: unknown; architecture?: unknown; variant?: unknown };
    annotations?: Record<string, unknown>;
  }[]) {
    if (typeof entry.digest !== 'string') continue;
    if (entry.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
    const p = entry.platform;
    if (!p || typeof p.os !== 'string' || typeof p.architecture !== 'string') continue;
    if (p.os === 'unknown' && p.architecture === 'unknown') continue;
    const platform = [p.os, p.architecture, typeof p.variant === 'string' ? p.variant : undefined]
      .filter(Boolean)
      .join('/');
    out.push({ platform, digest: entry.digest });
  }
  return out;
}
