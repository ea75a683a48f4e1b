/**
 * A small OCI distribution client, independent of the action's own code: the bed uses it to seed and to read back
 * what a registry holds (the independent witness), and the emulator uses `copyImage` to perform the real server-side
 * copy behind ARM `importImage`.
 *
 * Exported API
 * - `new RegistryClient(options)`: one registry, addressed by base URL (`https://127.0.0.1:PORT` or `http://...`).
 *   Options: `ca` (PEM; trusted in-process through an undici `Agent`, no NODE_EXTRA_CA_CERTS needed; without it the
 *   process' default trust store is used, which includes NODE_EXTRA_CA_CERTS), `username`/`password` (Basic to a
 *   Basic-challenging registry, or Basic to the Bearer realm), `tokenProvider(scope)` (a Bearer token minted out of
 *   band, sent without waiting for a challenge), `userAgent`, `timeoutMs` (per request, default 30 s).
 *   Authentication follows the registry's `WWW-Authenticate` answer: `Bearer realm,service[,scope]` -> `GET realm?
 *   service=..&scope=..` (Basic credentials if given, else anonymous), reading `token` or `access_token`, cached per
 *   scope until `expires_in`; `Basic` -> the credentials. After the first challenge, tokens for new scopes are fetched
 *   before the request. Nothing is retried except that one authentication round.
 *   Methods (repository names without host; `ref` = tag or digest):
 *   - `headManifest(repo, ref)` -> `{ digest, mediaType, size, headerDigest }` or `undefined` on 404. Without a
 *     `Docker-Content-Digest` header the manifest is fetched and hashed.
 *   - `getManifest(repo, ref)` -> `Manifest`: the exact bytes, `mediaType` (Content-Type without parameters),
 *     `digest` = sha256 of the bytes (checked against `ref` when `ref` is a digest), `headerDigest` (the registry's
 *     `Docker-Content-Digest`, or undefined when it sent none), and the parsed `json`.
 *   - `putManifest(repo, ref, bytes, mediaType)` -> digest (the registry's answer is checked against the bytes).
 *   - `hasBlob(repo, digest)`, `getBlob(repo, digest)` (digest verified), `putBlob(repo, bytes, digest?)` (monolithic:
 *     `POST /blobs/uploads/` then `PUT <Location>&digest=`) -> digest.
 *   - `listTags(repo)` -> tags (follows `Link` pagination; `[]` when the repository does not exist).
 *   - `referrers(repo, digest, artifactType?)` -> the descriptors of the OCI referrers API (every `Link` page), or
 *     `undefined` when the registry answers 404 (it does not serve the API).
 *   - `close()`: releases the connection pool (only the one the client made itself).
 *   Every non-success answer throws `OciError` { status, statusText, code (first `errors[].code`), body, method, url }.
 * - `copyImage(src, srcRepo, srcRef, dst, dstRepo, { tags?, untagged?, concurrency? })` -> `CopyResult`: copies a
 *   manifest, or an index / manifest list with every child manifest (recursively), every blob (configs and layers,
 *   foreign layers excepted), byte for byte so every digest is preserved. Blobs the destination repository already
 *   has are skipped, and so are child manifests it already has. Order: blobs, then children, then the top manifest by
 *   digest, then the tags (`tags` given, or the source tag when `srcRef` is a tag and `untagged` is not set).
 * - Helpers: `MEDIA_TYPES`, `MANIFEST_ACCEPT`, `sha256Digest(bytes)`, `parseChallenge(header)`, `isDigest(ref)`,
 *   `manifestChildren(json)` / `manifestBlobs(json)` (descriptors a manifest references).
 */
import { createHash } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { Agent, Dispatcher1Wrapper } from 'undici';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociNondistributableLayerGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociNondistributableLayer: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  helmConfig: 'application/vnd.cncf.helm.config.v1+json',
  helmChart: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
} as const;

/** The Accept header for manifests: indexes and lists first, so that a multi-arch tag resolves to its index. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.dockerManifest,
].join(', ');

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
const FOREIGN_LAYER_TYPES = new Set<string>([
  MEDIA_TYPES.dockerForeignLayer,
  MEDIA_TYPES.ociNondistributableLayer,
  MEDIA_TYPES.ociNondistributableLayerGzip,
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
  /** `Docker-Content-Digest` as the registry sent it (undefined if it sent none). */
  headerDigest: string | undefined;
}

export interface Manifest extends ManifestHead {
  /** The manifest exactly as served. */
  bytes: Buffer;
  /** Parsed body. */
  json: ManifestJson;
}

export interface ManifestJson {
  schemaVersion?: number;
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  blobs?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
  fsLayers?: { blobSum: string }[];
}

export class OciError extends Error {
  readonly status: number;
  readonly statusText: string;
  /** First `errors[].code` of the body (e.g. MANIFEST_UNKNOWN, UNAUTHORIZED), if any. */
  readonly code: string | undefined;
  readonly body: string;
  readonly method: string;
  readonly url: string;

  constructor(init: {
    method: string;
    url: string;
    status: number;
    statusText: string;
    body: string;
    note?: string;
  }) {
    const code = errorCode(init.body);
    const detail = code ? `${code}: ${errorMessage(init.body) ?? ''}`.trim() : init.body.slice(0, 300);
    super(
      `${init.method} ${init.url} -> ${init.status} ${init.statusText}${detail ? ` (${detail})` : ''}${init.note ? ` ${init.note}` : ''}`,
    );
    this.name = 'OciError';
    this.status = init.status;
    this.statusText = init.statusText;
    this.code = code;
    this.body = init.body;
    this.method = init.method;
    this.url = init.url;
  }
}

function parseErrors(body: string): { code?: string; message?: string }[] {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    return Array.isArray(parsed.errors) ? parsed.errors : [];
  } catch {
    return [];
  }
}
const errorCode = (body: string): string | undefined => parseErrors(body)[0]?.code;
const errorMessage = (body: string): string | undefined => parseErrors(body)[0]?.message;

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function isDigest(ref: string): boolean {
  return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(ref);
}

/** `WWW-Authenticate` -> scheme and parameters (quoted or bare values). Only the first challenge is read. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const match = /^\s*([A-Za-z][\w-]*)\s*(.*)$/s.exec(header);
  const scheme = (match?.[1] ?? '').toLowerCase();
  const params: Record<string, string> = {};
  const re = /([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (const m of (match?.[2] ?? '').matchAll(re)) {
    const key = m[1];
    if (key) params[key.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme, params };
}

/** Child manifests of an index / list. */
export function manifestChildren(json: ManifestJson): Descriptor[] {
  return Array.isArray(json.manifests) ? json.manifests : [];
}

/** Blobs an image manifest references: config, layers (and `blobs` of the short-lived OCI artifact manifest). */
export function manifestBlobs(json: ManifestJson): Descriptor[] {
  const out: Descriptor[] = [];
  if (json.config) out.push(json.config);
  if (Array.isArray(json.layers)) out.push(...json.layers);
  if (Array.isArray(json.blobs)) out.push(...json.blobs);
  return out;
}

export interface RegistryClientOptions {
  /** Base URL, e.g. `https://127.0.0.1:5000` (no path). */
  url: string;
  /** PEM CA(s) to trust for this registry and its token realm. */
  ca?: string | string[] | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** Mints a Bearer token for a scope (e.g. `repository:library/hello:pull,push`) without a challenge round. */
  tokenProvider?: ((scope: string) => string | Promise<string>) | undefined;
  userAgent?: string | undefined;
  /** Per-request time limit, default 30 000 ms. */
  timeoutMs?: number | undefined;
}

type FetchDispatcher = NonNullable<RequestInit['dispatcher']>;

interface SendOptions {
  scope: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export class RegistryClient {
  readonly url: string;
  private readonly options: RegistryClientOptions;
  private readonly agent: Agent | undefined;
  private readonly dispatcher: FetchDispatcher | undefined;
  /** What the registry asked for the last time it challenged us. */
  private challenge:
    { scheme: 'basic' } | { scheme: 'bearer'; realm: string; service: string | undefined } | undefined;
  private readonly tokens = new Map<string, CachedToken>();

  constructor(options: RegistryClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.options = options;
    if (options.ca) {
      // Node's built-in fetch speaks undici's older dispatcher contract; undici 8 ships the adapter for it.
      // One SecureContext for every connection: building it per socket (what a bare `ca` option does) parses the CA
      // each time and costs more than the request itself.
      this.agent = new Agent({
        connect: { secureContext: createSecureContext({ ca: options.ca }) },
        connections: 16,
      });
      this.dispatcher = new Dispatcher1Wrapper(this.agent) as unknown as FetchDispatcher;
    }
  }

  async close(): Promise<void> {
    await this.agent?.close().catch(() => undefined);
  }

  // -- manifests --------------------------------------------------------------------------------------------

  async headManifest(repo: string, ref: string): Promise<ManifestHead | undefined> {
    const response = await this.send('HEAD', `/v2/${repo}/manifests/${ref}`, {
      scope: pullScope(repo),
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (response.status === 404) return undefined;
    await this.expectOk(response, 'HEAD', [200]);
    const headerDigest = response.headers.get('docker-content-digest') ?? undefined;
    if (!headerDigest) {
      const manifest = await this.getManifest(repo, ref);
      return {
        digest: manifest.digest,
        mediaType: manifest.mediaType,
        size: manifest.size,
        headerDigest: undefined,
      };
    }
    return {
      digest: headerDigest,
      mediaType: stripParams(response.headers.get('content-type')),
      size: Number(response.headers.get('content-length') ?? '0'),
      headerDigest,
    };
  }

  async getManifest(repo: string, ref: string): Promise<Manifest> {
    const path = `/v2/${repo}/manifests/${ref}`;
    const response = await this.send('GET', path, {
      scope: pullScope(repo),
      headers: { accept: MANIFEST_ACCEPT },
    });
    await this.expectOk(response, 'GET', [200]);
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256Digest(bytes);
    if (isDigest(ref) && ref !== digest) {
      throw new Error(`GET ${this.url}${path}: body hashes to ${digest}, not the requested ${ref}`);
    }
    let json: ManifestJson;
    try {
      json = JSON.parse(bytes.toString('utf8')) as ManifestJson;
    } catch {
      throw new Error(`GET ${this.url}${path}: the manifest is not JSON`);
    }
    const mediaType = stripParams(response.headers.get('content-type')) || json.mediaType || '';
    return {
      bytes,
      json,
      digest,
      mediaType,
      size: bytes.length,
      headerDigest: response.headers.get('docker-content-digest') ?? undefined,
    };
  }

  async putManifest(repo: string, ref: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const response = await this.send('PUT', `/v2/${repo}/manifests/${ref}`, {
      scope: pushScope(repo),
      headers: { 'content-type': mediaType },
      body: bytes,
    });
    await this.expectOk(response, 'PUT', [200, 201]);
    await response.arrayBuffer();
    const digest = sha256Digest(bytes);
    const answered = response.headers.get('docker-content-digest');
    if (answered && answered !== digest) {
      throw new Error(
        `PUT ${this.url}/v2/${repo}/manifests/${ref}: registry stored ${answered}, expected ${digest}`,
      );
    }
    return digest;
  }

  // -- blobs ------------------------------------------------------------------------------------------------

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const response = await this.send('HEAD', `/v2/${repo}/blobs/${digest}`, { scope: pullScope(repo) });
    if (response.status === 404) return false;
    await this.expectOk(response, 'HEAD', [200]);
    return true;
  }

  async getBlob(repo: string, digest: string): Promise<Buffer> {
    const path = `/v2/${repo}/blobs/${digest}`;
    const response = await this.send('GET', path, { scope: pullScope(repo) });
    await this.expectOk(response, 'GET', [200]);
    const bytes = Buffer.from(await response.arrayBuffer());
    const actual = sha256Digest(bytes);
    if (digest.startsWith('sha256:') && actual !== digest) {
      throw new Error(`GET ${this.url}${path}: body hashes to ${actual}`);
    }
    return bytes;
  }

  async putBlob(repo: string, bytes: Uint8Array, digest: string = sha256Digest(bytes)): Promise<string> {
    const start = await this.send('POST', `/v2/${repo}/blobs/uploads/`, { scope: pushScope(repo) });
    await this.expectOk(start, 'POST', [202]);
    await start.arrayBuffer();
    const location = start.headers.get('location');
    if (!location) throw new Error(`POST ${this.url}/v2/${repo}/blobs/uploads/: 202 without Location`);
    const target = new URL(location, `${this.url}/`);
    target.searchParams.set('digest', digest);
    const done = await this.send('PUT', target.toString(), {
      scope: pushScope(repo),
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    await this.expectOk(done, 'PUT', [201]);
    await done.arrayBuffer();
    return digest;
  }

  // -- tags -------------------------------------------------------------------------------------------------

  async listTags(repo: string): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${repo}/tags/list?n=1000`;
    while (next) {
      const response = await this.send('GET', next, { scope: pullScope(repo) });
      if (response.status === 404 && tags.length === 0) {
        await response.arrayBuffer();
        return [];
      }
      await this.expectOk(response, 'GET', [200]);
      const body = (await response.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      const link = response.headers.get('link');
      next = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1] : undefined;
    }
    return tags;
  }

  // -- referrers --------------------------------------------------------------------------------------------

  async referrers(
    repo: string,
    digest: string,
    artifactType?: string,
  ): Promise<(Descriptor & { artifactType?: string })[] | undefined> {
    const out: (Descriptor & { artifactType?: string })[] = [];
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    let next: string | undefined = `/v2/${repo}/referrers/${digest}${query}`;
    for (let page = 0; next; page++) {
      if (page > 100) throw new Error(`GET ${this.url}/v2/${repo}/referrers/${digest}: more than 100 pages`);
      const response = await this.send('GET', next, {
        scope: pullScope(repo),
        headers: { accept: MEDIA_TYPES.ociIndex },
      });
      if (response.status === 404 && page === 0) {
        await response.arrayBuffer();
        return undefined;
      }
      await this.expectOk(response, 'GET', [200]);
      const body = (await response.json()) as { manifests?: (Descriptor & { artifactType?: string })[] };
      out.push(...(body.manifests ?? []));
      const link = response.headers.get('link');
      next = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1] : undefined;
    }
    return out;
  }

  // -- transport and auth -----------------------------------------------------------------------------------

  private absolute(pathOrUrl: string): string {
    return /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.url}${pathOrUrl}`;
  }

  private async fetchRaw(
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: Uint8Array,
  ): Promise<Response> {
    const init: RequestInit = {
      method,
      headers: { 'user-agent': this.options.userAgent ?? 'acr-import-testbed', ...headers },
      redirect: 'follow',
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    };
    if (body !== undefined) init.body = body;
    if (this.dispatcher) init.dispatcher = this.dispatcher;
    return fetch(url, init);
  }

  /** Sends a request with whatever authorization is known, answering one challenge if the registry sends it. */
  private async send(method: string, pathOrUrl: string, options: SendOptions): Promise<Response> {
    const url = this.absolute(pathOrUrl);
    const headers = { ...(options.headers ?? {}) };
    const authorization = await this.authorizationFor(options.scope, false);
    if (authorization) headers['authorization'] = authorization;
    const response = await this.fetchRaw(method, url, headers, options.body);
    if (response.status !== 401) return response;

    const header = response.headers.get('www-authenticate');
    if (!header) return response;
    const { scheme, params } = parseChallenge(header);
    if (scheme === 'bearer' && params['realm']) {
      this.challenge = { scheme: 'bearer', realm: params['realm'], service: params['service'] };
    } else if (scheme === 'basic') {
      this.challenge = { scheme: 'basic' };
      if (this.options.username === undefined || this.options.password === undefined) return response;
    } else {
      return response;
    }
    // The challenge's scope is what this request needs; keep it if it is wider than ours.
    const scope = params['scope'] ?? options.scope;
    const retryAuthorization = await this.authorizationFor(scope, true, options.scope);
    // Nothing new to offer (e.g. Basic credentials the registry just refused): the 401 stands.
    if (!retryAuthorization || retryAuthorization === authorization) return response;
    await response.arrayBuffer().catch(() => undefined);
    return this.fetchRaw(method, url, { ...headers, authorization: retryAuthorization }, options.body);
  }

  private basic(): string | undefined {
    const { username, password } = this.options;
    if (username === undefined || password === undefined) return undefined;
    return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  private async authorizationFor(
    scope: string,
    fresh: boolean,
    cacheAs: string = scope,
  ): Promise<string | undefined> {
    if (this.options.tokenProvider && !fresh) return `Bearer ${await this.options.tokenProvider(scope)}`;
    const challenge = this.challenge;
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') return this.basic();
    const cached = this.tokens.get(cacheAs);
    if (!fresh && cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    const token = await this.fetchToken(challenge.realm, challenge.service, scope);
    this.tokens.set(cacheAs, token);
    if (cacheAs !== scope) this.tokens.set(scope, token);
    return `Bearer ${token.token}`;
  }

  private async fetchToken(realm: string, service: string | undefined, scope: string): Promise<CachedToken> {
    const url = new URL(realm);
    if (service) url.searchParams.set('service', service);
    for (const s of scope.split(' ').filter(Boolean)) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { accept: 'application/json' };
    const basic = this.basic();
    if (basic) headers['authorization'] = basic;
    const response = await this.fetchRaw('GET', url.toString(), headers);
    const text = await response.text();
    if (response.status !== 200) {
      throw new OciError({
        method: 'GET',
        url: url.toString(),
        status: response.status,
        statusText: response.statusText,
        body: text,
        note: '(token request)',
      });
    }
    const body = JSON.parse(text) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new Error(`GET ${url.toString()}: token response without token/access_token`);
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    return { token, expiresAt: Date.now() + Math.max(1, lifetime - 5) * 1000 };
  }

  private async expectOk(response: Response, method: string, ok: number[]): Promise<void> {
    if (ok.includes(response.status)) return;
    const body = method === 'HEAD' ? '' : await response.text().catch(() => '');
    throw new OciError({
      method,
      url: response.url,
      status: response.status,
      statusText: response.statusText,
      body,
    });
  }
}

const pullScope = (repo: string): string => `repository:${repo}:pull`;
const pushScope = (repo: string): string => `repository:${repo}:pull,push`;
const stripParams = (contentType: string | null): string => (contentType ?? '').split(';')[0]?.trim() ?? '';

// ---------------------------------------------------------------------------------------------------------------
// copyImage

export interface CopyOptions {
  /** Tags to set in the destination repository (default: the source tag, unless `untagged` or `srcRef` is a digest). */
  tags?: string[];
  /** Copy without any tag (manifest reachable by digest only). */
  untagged?: boolean;
  /** Parallel blob / child copies (default 4). */
  concurrency?: number;
}

export interface CopyResult {
  /** Digest of the top-level manifest (equal in source and destination). */
  digest: string;
  mediaType: string;
  /** Every manifest digest written, children first, the top-level one last. */
  manifests: string[];
  /** Blobs uploaded to the destination. */
  blobsCopied: string[];
  /** Blobs the destination repository already had. */
  blobsSkipped: string[];
  /** Tags set in the destination repository. */
  tags: string[];
}

/**
 * Copies `srcRepo:srcRef` (tag or digest) from `src` into `dst` as `dstRepo`, preserving every digest. See the
 * module header for the order of writes.
 */
export async function copyImage(
  src: RegistryClient,
  srcRepo: string,
  srcRef: string,
  dst: RegistryClient,
  dstRepo: string,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const limit = Math.max(1, options.concurrency ?? 4);
  const result: CopyResult = {
    digest: '',
    mediaType: '',
    manifests: [],
    blobsCopied: [],
    blobsSkipped: [],
    tags: [],
  };
  const blobCopies = new Map<string, Promise<void>>();

  const copyBlob = (descriptor: Descriptor): Promise<void> => {
    let pending = blobCopies.get(descriptor.digest);
    if (!pending) {
      pending = (async () => {
        if (await dst.hasBlob(dstRepo, descriptor.digest)) {
          result.blobsSkipped.push(descriptor.digest);
          return;
        }
        const bytes = await src.getBlob(srcRepo, descriptor.digest);
        await dst.putBlob(dstRepo, bytes, descriptor.digest);
        result.blobsCopied.push(descriptor.digest);
      })();
      blobCopies.set(descriptor.digest, pending);
    }
    return pending;
  };

  /** Copies everything a manifest references, then the manifest itself (by digest). */
  const copyTree = async (manifest: Manifest): Promise<void> => {
    const { json } = manifest;
    if (
      manifest.mediaType === MEDIA_TYPES.dockerSchema1 ||
      manifest.mediaType === MEDIA_TYPES.dockerSchema1Signed ||
      json.schemaVersion === 1
    ) {
      throw new Error(`${srcRepo}@${manifest.digest}: Docker schema 1 manifests are not supported`);
    }
    if (INDEX_TYPES.has(manifest.mediaType) || (Array.isArray(json.manifests) && !json.config)) {
      await mapLimit(manifestChildren(json), limit, async (child) => {
        if (await dst.headManifest(dstRepo, child.digest)) return; // already there, with everything it references
        await copyTree(await src.getManifest(srcRepo, child.digest));
      });
    } else {
      const blobs = manifestBlobs(json).filter((d) => !FOREIGN_LAYER_TYPES.has(d.mediaType));
      await mapLimit(blobs, limit, copyBlob);
    }
    await dst.putManifest(dstRepo, manifest.digest, manifest.bytes, manifest.mediaType);
    result.manifests.push(manifest.digest);
  };

  const top = await src.getManifest(srcRepo, srcRef);
  result.digest = top.digest;
  result.mediaType = top.mediaType;
  await copyTree(top);

  const tags = options.tags ?? (options.untagged || isDigest(srcRef) ? [] : [srcRef]);
  for (const tag of tags) {
    await dst.putManifest(dstRepo, tag, top.bytes, top.mediaType);
    result.tags.push(tag);
  }
  return result;
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first error once all have settled. */
async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let index = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (index < items.length) {
      const item = items[index++] as T;
      try {
        await fn(item);
      } catch (error) {
        errors.push(error);
        index = items.length; // stop handing out work
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
