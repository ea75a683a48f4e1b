/**
 * Signatures, SBOMs and attestations (OCI referrers) copied with an image, server side.
 *
 * Discovery reads the source registry: the OCI referrers API (`GET /v2/<repo>/referrers/<digest>`, filtered by
 * `artifactType` when one type is asked for, `Link` pages followed); where the registry does not serve it (404), the
 * OCI 1.1 fallback tag `sha256-<hex>` (an index of referrers). Cosign's tags `sha256-<hex>.sig`, `.att` and `.sbom`
 * are looked up in every registry, since cosign writes them even where the API exists. It recurses (a signature of an
 * SBOM), within `REFERRER_LIMITS`.
 *
 * Each referrer manifest is then imported by digest with importImage into the subject's target repositories
 * (untagged; a cosign tag as the same tag), parents before their referrers. That importImage copies a referrer
 * manifest by digest works (dotnet/docker-tools relies on it) but is not documented by Microsoft, so every referrer is
 * verified afterwards on the target: its referrers API lists it for its subject, a cosign tag holds its digest.
 */
import type { ImportImageBody, RegistryResource } from '../clients/arm.js';
import type { ImageSpec, ImportConfig } from '../config/model.js';
import { asImportError, RemoteError, VerificationError } from '../errors.js';
import type { Logger } from '../ports.js';
import { quote, sourceImage, type ParseResult } from '../reference.js';
import { isIndexMediaType, MEDIA_TYPES, type RegistryClient } from '../clients/registry.js';
import type { ImageResult, ReferrerResult } from '../report/result.js';

/** The `referrers` input: none, all, or the artifact types to copy (lower case). */
export type ReferrerSelection = 'none' | 'all' | readonly string[];

/** How far discovery goes for one image (stated in the README). */
export const REFERRER_LIMITS = {
  /** Levels below the image: 1 = its referrers, 2 = a signature of an SBOM, 3 = one more. */
  depth: 3,
  /** Referrers per image, all levels together. */
  count: 100,
  /** Pages of one referrers API answer. */
  pages: 20,
} as const;

/** Cosign's tag convention: `sha256-<hex>.<suffix>` in the image's repository. */
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'] as const;

/** RFC 6838 type/subtype. */
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/i;

export function checkReferrers(text: string): ParseResult<ReferrerSelection> {
  const items = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);
  const keywords = items.filter((i) => ['none', 'all'].includes(i.toLowerCase()));
  if (keywords.length === items.length && items.length === 1) {
    return { ok: true, value: items[0]!.toLowerCase() === 'all' ? 'all' : 'none' };
  }
  if (keywords.length > 0) {
    return {
      ok: false,
      error: "must be 'none', 'all' or a list of artifact types, not a mix: remove 'none'/'all' or the types",
    };
  }
  const bad = items.filter((i) => !MEDIA_TYPE.test(i));
  if (items.length === 0 || bad.length > 0) {
    return {
      ok: false,
      error: `must be 'none' (default), 'all', or a comma-separated list of artifact types such as application/vnd.cncf.notary.signature, application/spdx+json${bad.length ? `; not a media type: ${bad.map(quote).join(', ')}` : ''}`,
    };
  }
  return { ok: true, value: [...new Set(items.map((i) => i.toLowerCase()))] };
}

// ---------------------------------------------------------------------------------------------------------------------
// Discovery

interface Found {
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
class ReferrerFinder {
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

// ---------------------------------------------------------------------------------------------------------------------
// Copy and verify

export interface ReferrerCopyPorts {
  log: Logger;
  /** A client of the source registry and the image's repository there. */
  source: RegistryClient;
  sourceRepository: string;
  /** A client of the target registry and the subject's target repositories. */
  target: RegistryClient;
  targetLabel: string;
  repositories: readonly string[];
  force: boolean;
  dryRun: boolean;
  /** Imports source@digest into every target repository (untagged, or under `tag`) and waits for it. */
  importManifest(digest: string, tag: string | undefined, signal: AbortSignal): Promise<void>;
  /** Runs one import within the run's max-parallel. */
  limit<T>(work: () => Promise<T>): Promise<T>;
}

export interface ReferrerOutcome {
  referrers: ReferrerResult[];
  notes: string[];
  /** Set when a referrer did not land: the image fails with it (the image itself stays imported). */
  failure?: VerificationError;
}

/** Finds the referrers of `roots` on the source, copies what the target lacks, and verifies every one. */
export async function copyReferrers(
  ports: ReferrerCopyPorts,
  selection: 'all' | readonly string[],
  roots: readonly string[],
  label: string,
  signal: AbortSignal,
): Promise<ReferrerOutcome> {
  const finder = new ReferrerFinder(ports.source, ports.sourceRepository, selection, ports.log);
  const { found, notes } = await finder.discover(roots, signal);
  const results: ReferrerResult[] = found.map((f) => ({
    digest: f.digest,
    artifactType: f.artifactType,
    subject: f.subject,
    ...(f.tag ? { tag: f.tag } : {}),
    status: 'planned',
  }));
  if (found.length === 0) {
    ports.log.info(`${label}: no referrers to copy`);
    return { referrers: results, notes };
  }
  ports.log.info(
    `${label}: ${found.length} referrer${found.length === 1 ? '' : 's'} (${describeReferrerCounts(results)})`,
  );

  // What the target holds already: unchanged, to import, or a cosign tag that holds something else.
  const reading = Promise.all(
    found.map(async (f, i) => {
      const r = results[i]!;
      const held = await Promise.all(
        ports.repositories.map((repo) => ports.target.headManifest(repo, f.tag ?? f.digest, signal)),
      );
      if (held.every((h) => h?.digest === f.digest)) r.status = 'unchanged';
      const moved = f.tag ? held.findIndex((h) => h !== undefined && h.digest !== f.digest) : -1;
      if (moved >= 0 && !ports.force) {
        r.status = 'failed';
        r.error = `target tag ${ports.repositories[moved]}:${f.tag} holds ${held[moved]!.digest}, not the source's ${f.digest}; set force: true to replace it`;
      }
    }),
  );
  try {
    await reading;
  } catch (err) {
    if (signal.aborted) throw err;
    // Without reading the target, nothing copied could be verified: copy nothing, and say why.
    const why = asImportError(err).message;
    for (const r of results)
      Object.assign(r, { status: 'failed', error: 'the target cannot be read from the runner' });
    return {
      referrers: results,
      notes,
      failure: new VerificationError(
        `${label}: its referrers cannot be checked in ${ports.targetLabel}, which the runner cannot read (${why}).`,
        'Referrers are verified through the target registry API: let the runner reach the target registry, or set referrers: none.',
      ),
    };
  }
  if (ports.dryRun) {
    for (const r of results) {
      ports.log.info(
        `${label}: would ${r.status === 'planned' ? 'copy' : `leave (${r.status})`} referrer ${r.digest} (${r.artifactType})`,
      );
    }
    return { referrers: results, notes, ...failureOf(results, ports.targetLabel, true) };
  }

  // Parents first: a signature of an SBOM is imported after the SBOM.
  for (let depth = 1; depth <= REFERRER_LIMITS.depth; depth++) {
    await Promise.all(
      found.map(async (f, i) => {
        const r = results[i]!;
        if (f.depth !== depth || r.status !== 'planned') return;
        try {
          await ports.limit(() => ports.importManifest(f.digest, f.tag, signal));
          r.status = 'imported';
          ports.log.info(`${label}: referrer ${f.digest} (${f.artifactType}) imported`);
        } catch (err) {
          if (signal.aborted) throw err;
          r.status = 'failed';
          r.error = `the import failed: ${asImportError(err).message}`;
        }
      }),
    );
  }

  await verify(ports, found, results, signal);
  return { referrers: results, notes, ...failureOf(results, ports.targetLabel, false) };
}

/** The image's failure when a referrer did not land (or, planned, would not). */
function failureOf(
  results: readonly ReferrerResult[],
  targetLabel: string,
  dryRun: boolean,
): { failure?: VerificationError } {
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length === 0) return {};
  const list = failed
    .map((r) => `${r.digest} (${r.artifactType}${r.tag ? `, tag ${r.tag}` : ''}): ${r.error ?? 'unknown'}`)
    .join('; ');
  const of = `${failed.length} of ${results.length} referrer${results.length === 1 ? '' : 's'}`;
  return {
    failure: dryRun
      ? new VerificationError(`${of} would not land in ${targetLabel}: ${list}.`)
      : new VerificationError(
          `The image landed in ${targetLabel}, but ${of} did not: ${list}.`,
          'The image itself is imported; a policy that requires these signatures or SBOMs will refuse it. Re-run to copy what is missing (referrers already copied stay unchanged). importImage copying referrer manifests by digest is not documented by Microsoft: if it keeps reporting success without them, copy them with oras or regctl.',
        ),
  };
}

/** Every referrer that should be there is read back from the target: listed by its referrers API, or its tag. */
async function verify(
  ports: ReferrerCopyPorts,
  found: Found[],
  results: ReferrerResult[],
  signal: AbortSignal,
): Promise<void> {
  const landed = (i: number): boolean =>
    results[i]!.status === 'imported' || results[i]!.status === 'unchanged';
  const fail = (i: number, why: string): void => {
    results[i]!.status = 'failed';
    results[i]!.error = why;
  };
  for (const repo of ports.repositories) {
    const finder = new ReferrerFinder(ports.target, repo, 'all', ports.log);
    const subjects = [...new Set(found.filter((f, i) => landed(i) && !f.tag).map((f) => f.subject))];
    const listed = new Map(
      await Promise.all(subjects.map(async (s) => [s, await finder.listedDigests(s, signal)] as const)),
    );
    await Promise.all(
      found.map(async (f, i) => {
        if (!landed(i)) return;
        if (f.tag) {
          const now = await ports.target.headManifest(repo, f.tag, signal);
          if (now?.digest !== f.digest) {
            fail(
              i,
              `after the import, ${repo}:${f.tag} ${now ? `holds ${now.digest}` : 'does not exist'} in the target`,
            );
          }
          return;
        }
        const digests = listed.get(f.subject);
        if (!digests) {
          fail(i, `${ports.targetLabel} does not serve the OCI referrers API, so it cannot be verified`);
        } else if (!digests.has(f.digest)) {
          fail(
            i,
            `${results[i]!.status === 'imported' ? 'importImage reported success' : 'the target holds it'}, but the target's referrers API does not list it for ${repo}@${f.subject}`,
          );
        }
      }),
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// The step of a run

/** A target the import watch looks at (run.ts's TargetState). */
export interface WatchState {
  key: string;
  repository: string;
  tag: string | undefined;
  ref: string;
  before: string | undefined;
}

/**
 * The referrers step of one image, after the image landed (or was planned): the roots are its digest and, for an
 * index, every manifest it lists; the copies go to each of its target repositories.
 */
export async function runReferrers(
  run: {
    config: Pick<ImportConfig, 'referrers' | 'force' | 'dryRun'>;
    log: Logger;
    slots: <T>(work: () => Promise<T>) => Promise<T>;
    target: () => Promise<{ registry: RegistryResource; client: RegistryClient }>;
    importManifest: (
      registry: RegistryResource,
      body: ImportImageBody,
      digest: string,
      watch: WatchState[],
      signal: AbortSignal,
    ) => Promise<void>;
  },
  spec: ImageSpec,
  result: ImageResult,
  plan:
    | { source: ImportImageBody['source']; client: RegistryClient | undefined; unreachable?: string }
    | undefined,
  signal: AbortSignal,
): Promise<void> {
  const label = spec.sourceText;
  const selection = run.config.referrers;
  if (selection === 'none') return;
  const digest = result.targets.find((t) => t.digest)?.digest ?? result.sourceDigest;
  if (!plan?.client || !digest) {
    throw new VerificationError(
      `${label}: its referrers cannot be looked up, because ${plan?.unreachable ?? 'the source cannot be read from the runner'}.`,
      'Referrers are found through the source registry API: make the source readable from the runner, or set referrers: none.',
    );
  }
  const source = plan.client;
  const roots = [digest];
  if (result.mediaType && isIndexMediaType(result.mediaType)) {
    const index = await source.getManifest(spec.source.repository, digest, signal);
    if (index) roots.push(...childDigests(index.bytes));
  }
  const { registry, client } = await run.target();
  const repositories = [...new Set([...spec.targets.map((t) => t.repository), ...spec.untaggedRepositories])];
  const outcome = await copyReferrers(
    {
      log: run.log,
      source,
      sourceRepository: spec.source.repository,
      target: client,
      targetLabel: registry.loginServer,
      repositories,
      force: run.config.force,
      dryRun: run.config.dryRun,
      limit: run.slots,
      importManifest: (referrer, tag, signal) => {
        const body: ImportImageBody = {
          source: { ...plan.source, sourceImage: sourceImage(spec.source, referrer) },
          ...(tag
            ? { targetTags: repositories.map((r) => `${r}:${tag}`) }
            : { untaggedTargetRepositories: repositories }),
          mode: run.config.force ? 'Force' : 'NoForce',
        };
        const watch = repositories.map((repository) => ({
          key: tag ? `${repository}:${tag}` : repository,
          repository,
          tag,
          ref: `${registry.loginServer}/${repository}${tag ? `:${tag}` : ''}`,
          before: undefined,
        }));
        return run.importManifest(registry, body, referrer, watch, signal);
      },
    },
    selection,
    roots,
    label,
    signal,
  );
  result.referrers = outcome.referrers;
  result.notes.push(...outcome.notes);
  if (outcome.failure) throw outcome.failure;
}

// ---------------------------------------------------------------------------------------------------------------------
// Presentation

type ReferrerKind = 'signature' | 'SBOM' | 'attestation' | 'other referrer';

export function referrerKind(artifactType: string): ReferrerKind {
  const t = artifactType.toLowerCase();
  if (/spdx|cyclonedx|sbom|syft/.test(t)) return 'SBOM';
  if (/signature|simplesigning|cosign\.artifact\.sig|sigstore\.bundle/.test(t)) return 'signature';
  if (/in-toto|intoto|dsse|provenance|attestation|slsa|vex|vuln/.test(t)) return 'attestation';
  return 'other referrer';
}

/** "2 signatures, 1 SBOM" (and how many failed), for the summary and the log. */
export function describeReferrerCounts(referrers: readonly ReferrerResult[]): string {
  if (referrers.length === 0) return 'no referrers';
  const counts = new Map<ReferrerKind, number>();
  for (const r of referrers) {
    const kind = referrerKind(r.artifactType);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  const order: ReferrerKind[] = ['signature', 'SBOM', 'attestation', 'other referrer'];
  const parts = order
    .filter((k) => counts.has(k))
    .map((k) => `${counts.get(k)} ${k}${counts.get(k) === 1 ? '' : 's'}`);
  const failed = referrers.filter((r) => r.status === 'failed').length;
  if (failed) parts.push(`${failed} failed`);
  return parts.join(', ');
}

/** Runs at most `limit` pieces of work at once, across every image of a run. */
export function limiter(limit: number): <T>(work: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    // A finished piece of work hands its slot straight to the next waiting one.
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
