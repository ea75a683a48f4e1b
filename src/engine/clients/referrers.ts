/**
 * Referrer discovery in one registry: the OCI referrers API (`GET /v2/<repo>/referrers/<digest>`, filtered by
 * `artifactType` when one type is asked for, `Link` pages followed); where the registry does not serve it (404), the
 * OCI 1.1 fallback tag `sha256-<hex>` (an index of referrers); and cosign's tags `sha256-<hex>.sig`, `.att` and
 * `.sbom`, looked up in every registry. It recurses (a signature of an SBOM), within `REFERRER_LIMITS`.
 */
import { REFERRER_LIMITS } from '../config/referrers.js';
import { RemoteError } from '../errors.js';
import type { Logger } from '../ports.js';
import { MEDIA_TYPES, type RegistryClient } from './registry.js';
/** Cosign's tag convention: `sha256-<hex>.<suffix>` in the image's repository. */
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'] as const;

export interface Found {
  digest: string;
  artifactType: string;
  subject: string;
  /** A cosign-convention tag. */
  tag?: string;
  depth: number;
}

interface Descriptor {
  digest?: unknown;
  mediaType?: unknown;
  artifactType?: unknown;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Container image configs: an artifact's type is never one of these. */
const IMAGE_CONFIG_TYPES = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
  'application/vnd.oci.empty.v1+json',
]);

/** What kind of artifact a manifest is: its artifactType, else a non-image config type, else its first layer's. */
export function artifactTypeOf(manifest: Buffer): string | undefined {
  try {
    const doc = JSON.parse(manifest.toString('utf8')) as {
      artifactType?: unknown;
      config?: { mediaType?: unknown };
      layers?: { mediaType?: unknown }[];
    };
    if (typeof doc.artifactType === 'string' && doc.artifactType) return doc.artifactType;
    const config = doc.config?.mediaType;
    if (typeof config === 'string' && !IMAGE_CONFIG_TYPES.has(config)) return config;
    const layer = Array.isArray(doc.layers) ? doc.layers[0]?.mediaType : undefined;
    return typeof layer === 'string' && layer ? layer : undefined;
  } catch {
    return undefined;
  }
}

/** The manifests an index lists (its platform manifests, attestation manifests included). */
export function childDigests(index: Buffer): string[] {
  try {
    const doc = JSON.parse(index.toString('utf8')) as { manifests?: Descriptor[] };
    return Array.isArray(doc.manifests)
      ? doc.manifests.map((m) => m.digest).filter((d): d is string => typeof d === 'string' && DIGEST.test(d))
      : [];
  } catch {
    return [];
  }
}

/** The `rel="next"` target of a `Link` header. */
function nextLink(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /\brel\s*=\s*"?next"?/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

/** The referrers of one registry's repository, read as the registry allows. */
export class ReferrerFinder {
  /** Whether the registry serves the referrers API (undefined until asked). */
  private api: boolean | undefined;

  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
    private readonly selection: 'all' | readonly string[],
    private readonly log: Logger,
  ) {}

  /** The referrers of `roots` and, recursively, of every selected referrer, within the limits. */
  async discover(
    roots: readonly string[],
    signal: AbortSignal,
  ): Promise<{ found: Found[]; notes: string[] }> {
    const found: Found[] = [];
    const notes: string[] = [];
    const seen = new Set(roots);
    let level = [...roots];
    for (let depth = 1; level.length > 0; depth++) {
      const lists = await Promise.all(level.map((subject) => this.referrersOf(subject, signal)));
      const next: string[] = [];
      for (const r of lists.flat()) {
        if (seen.has(r.digest)) continue;
        seen.add(r.digest);
        if (depth > REFERRER_LIMITS.depth) {
          notes.push(
            `Referrers nested more than ${REFERRER_LIMITS.depth} levels deep (e.g. ${r.digest}, which refers to ${r.subject}) were not copied.`,
          );
          return { found, notes };
        }
        if (found.length >= REFERRER_LIMITS.count) {
          notes.push(`Only the first ${REFERRER_LIMITS.count} referrers of this image were copied.`);
          return { found, notes };
        }
        found.push({ ...r, depth });
        next.push(r.digest);
      }
      level = next;
    }
    return { found, notes };
  }

  private wanted(artifactType: string): boolean {
    return this.selection === 'all' || this.selection.includes(artifactType.toLowerCase());
  }

  private async referrersOf(subject: string, signal: AbortSignal): Promise<Omit<Found, 'depth'>[]> {
    const [listed, cosign] = await Promise.all([
      this.listed(subject, signal),
      this.cosignTags(subject, signal),
    ]);
    const complete = await Promise.all(
      listed.map(async (r) =>
        r.artifactType ? r : { ...r, artifactType: await this.typeOf(r.digest, signal) },
      ),
    );
    return [...complete, ...cosign].filter((r) => this.wanted(r.artifactType));
  }

  private async listed(subject: string, signal: AbortSignal): Promise<Omit<Found, 'depth'>[]> {
    if (this.api !== false) {
      const fromApi = await this.fromApi(subject, signal);
      if (fromApi) {
        this.api = true;
        return fromApi;
      }
      this.api = false;
      this.log.debug(
        `${this.client.label} does not serve the OCI referrers API (404); reading the sha256-<hex> fallback tags of ${this.repository}`,
      );
    }
    return this.fromFallbackTag(subject, signal);
  }

  /** The referrers API, every page; undefined when the registry does not serve it. */
  private async fromApi(subject: string, signal: AbortSignal): Promise<Omit<Found, 'depth'>[] | undefined> {
    const filter = this.selection !== 'all' && this.selection.length === 1 ? this.selection[0] : undefined;
    let path: string | undefined =
      `/v2/${this.repository}/referrers/${subject}${filter ? `?artifactType=${encodeURIComponent(filter)}` : ''}`;
    const out: Omit<Found, 'depth'>[] = [];
    for (let page = 0; path; page++) {
      if (page >= REFERRER_LIMITS.pages) {
        throw new RemoteError({
          service: this.client.label,
          message: `${this.client.label} answered more than ${REFERRER_LIMITS.pages} pages of referrers for ${this.repository}@${subject}.`,
        });
      }
      const res = await this.client.getResource(this.repository, path, MEDIA_TYPES.ociIndex, signal);
      if (res.status === 404 && page === 0) return undefined;
      if (res.status !== 200) {
        throw this.client.resourceError(res, `the referrers of ${this.repository}@${subject}`);
      }
      out.push(...this.descriptors(res.body, subject, `the referrers of ${subject}`));
      path = nextLink(res.headers['link']);
    }
    return out;
  }

  /** OCI 1.1's fallback: an index of referrers tagged `sha256-<hex>`. */
  private async fromFallbackTag(subject: string, signal: AbortSignal): Promise<Omit<Found, 'depth'>[]> {
    const tag = subject.replace(':', '-');
    const index = await this.client.getManifest(this.repository, tag, signal);
    if (!index) return [];
    return this.descriptors(index.bytes, subject, `the fallback tag ${tag}`);
  }

  private descriptors(body: Buffer, subject: string, what: string): Omit<Found, 'depth'>[] {
    let doc: { manifests?: unknown };
    try {
      doc = JSON.parse(body.toString('utf8')) as { manifests?: unknown };
    } catch {
      doc = {};
    }
    if (!Array.isArray(doc.manifests)) {
      throw new RemoteError({
        service: this.client.label,
        message: `${this.client.label}: ${what} in ${this.repository} is not an image index of referrers.`,
      });
    }
    return (doc.manifests as Descriptor[])
      .filter(
        (d): d is Descriptor & { digest: string } => typeof d.digest === 'string' && DIGEST.test(d.digest),
      )
      .map((d) => ({
        digest: d.digest,
        artifactType: typeof d.artifactType === 'string' ? d.artifactType : '',
        subject,
      }));
  }

  private async cosignTags(subject: string, signal: AbortSignal): Promise<Omit<Found, 'depth'>[]> {
    const base = subject.replace(':', '-');
    const found = await Promise.all(
      COSIGN_SUFFIXES.map(async (suffix) => {
        const tag = `${base}.${suffix}`;
        const manifest = await this.client.getManifest(this.repository, tag, signal);
        if (!manifest) return undefined;
        return {
          digest: manifest.digest,
          artifactType: artifactTypeOf(manifest.bytes) ?? manifest.mediaType,
          subject,
          tag,
        };
      }),
    );
    return found.filter((f) => f !== undefined);
  }

  private async typeOf(digest: string, signal: AbortSignal): Promise<string> {
    const manifest = await this.client.getManifest(this.repository, digest, signal);
    if (!manifest) {
      throw new RemoteError({
        service: this.client.label,
        status: 404,
        message: `${this.client.label} lists referrer ${this.repository}@${digest}, but the manifest does not exist.`,
      });
    }
    return artifactTypeOf(manifest.bytes) ?? manifest.mediaType;
  }

  /** The digests the referrers API lists for `subject` (every page), or undefined when it is not served. */
  async listedDigests(subject: string, signal: AbortSignal): Promise<Set<string> | undefined> {
    const list = await this.fromApi(subject, signal);
    return list && new Set(list.map((r) => r.digest));
  }
}
