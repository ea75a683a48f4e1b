/**
 * The OCI referrers API of an emulated ACR: `GET /v2/<repo>/referrers/<digest>[?artifactType=][&n=][&last=]`.
 *
 * docker-registry 2.8 does not serve it, so the emulator computes the answer from what the backing registry stores:
 * every manifest revision of the repository (its filesystem storage, `docker/registry/v2/repositories/<repo>/
 * _manifests/revisions/sha256/<hex>`), read from the blob store, whose `subject` is the digest asked for. The answer
 * is an OCI image index of descriptors (mediaType, digest, size, artifactType = the manifest's artifactType or its
 * config's mediaType, annotations), sorted by digest, `PAGE_SIZE` per page with a `Link: <...>; rel="next"` header
 * (small on purpose: a client must follow the pages). With `artifactType` the list is filtered and the answer says
 * so in `OCI-Filters-Applied: artifactType`. A repository that does not exist answers an empty index (the subject of a
 * referrer need not exist either). Without a configured storage directory the route answers 404, as a registry that
 * does not serve the API.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { send, sendJson, type Ctx } from './http.js';
import type { Registry } from './state.js';

const PAGE_SIZE = 2;
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DIGEST = /^sha256:[a-f0-9]{64}$/;
export const REFERRERS_PATH = /^\/v2\/(.+)\/referrers\/([^/]+)$/;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** Answers a referrers request (the caller checked the token's pull scope). */
export async function serveReferrers(ctx: Ctx, registry: Registry): Promise<void> {
  const match = REFERRERS_PATH.exec(ctx.path);
  const storage = registry.config.storageDir;
  if (!match || !storage) {
    return sendJson(ctx, 404, { errors: [{ code: 'NOT_FOUND', message: 'page not found' }] });
  }
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
    return sendJson(ctx, 405, {
      errors: [{ code: 'UNSUPPORTED', message: `method ${ctx.method} not allowed` }],
    });
  }
  const [, repository, subject] = match as unknown as [string, string, string];
  if (!DIGEST.test(subject)) {
    return sendJson(ctx, 400, {
      errors: [{ code: 'DIGEST_INVALID', message: `invalid digest '${subject}'` }],
    });
  }
  const filter = ctx.query.get('artifactType') ?? undefined;
  const all = await referrersOf(storage, repository, subject);
  const listed = (filter ? all.filter((d) => d.artifactType === filter) : all).sort((a, b) =>
    a.digest.localeCompare(b.digest),
  );
  const last = ctx.query.get('last');
  const n = Math.min(Math.max(Number(ctx.query.get('n') ?? PAGE_SIZE) || PAGE_SIZE, 1), PAGE_SIZE);
  const start = last ? listed.findIndex((d) => d.digest > last) : 0;
  const page = start < 0 ? [] : listed.slice(start, start + n);
  const headers: Record<string, string> = {
    'content-type': OCI_INDEX,
    'docker-distribution-api-version': 'registry/2.0',
  };
  if (filter) headers['oci-filters-applied'] = 'artifactType';
  const lastShown = page[page.length - 1];
  if (start >= 0 && lastShown && start + n < listed.length) {
    const next = new URLSearchParams({ n: String(n), last: lastShown.digest });
    if (filter) next.set('artifactType', filter);
    headers['link'] = `</v2/${repository}/referrers/${subject}?${next.toString()}>; rel="next"`;
  }
  send(ctx, 200, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: page }), headers);
}

/** Every manifest of `repository` (in a docker-registry's filesystem storage) whose subject is `subject`. */
async function referrersOf(storage: string, repository: string, subject: string): Promise<Descriptor[]> {
  const v2 = join(storage, 'docker', 'registry', 'v2');
  const revisions = join(v2, 'repositories', ...repository.split('/'), '_manifests', 'revisions', 'sha256');
  let hexes: string[];
  try {
    hexes = await readdir(revisions);
  } catch {
    return [];
  }
  const out: Descriptor[] = [];
  for (const hex of hexes) {
    if (!/^[a-f0-9]{64}$/.test(hex)) continue;
    let bytes: Buffer;
    try {
      // A deleted manifest keeps its directory but loses its link.
      await readFile(join(revisions, hex, 'link'));
      bytes = await readFile(join(v2, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data'));
    } catch {
      continue;
    }
    if (createHash('sha256').update(bytes).digest('hex') !== hex) continue;
    let doc: {
      mediaType?: unknown;
      artifactType?: unknown;
      config?: { mediaType?: unknown };
      subject?: { digest?: unknown };
      annotations?: unknown;
    };
    try {
      doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
    } catch {
      continue;
    }
    if (doc.subject?.digest !== subject) continue;
    const artifactType =
      typeof doc.artifactType === 'string'
        ? doc.artifactType
        : typeof doc.config?.mediaType === 'string'
          ? doc.config.mediaType
          : undefined;
    out.push({
      mediaType:
        typeof doc.mediaType === 'string' ? doc.mediaType : 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${hex}`,
      size: bytes.length,
      ...(artifactType ? { artifactType } : {}),
      ...(doc.annotations && typeof doc.annotations === 'object'
        ? { annotations: doc.annotations as Record<string, string> }
        : {}),
    });
  }
  return out;
}
