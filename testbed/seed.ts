/**
 * Deterministic images, built in memory and pushed for real.
 *
 * Every byte derives from a fixed seed string (AES-CTR keystream for "random" content, fixed timestamps, a minimal
 * ustar writer and Node's zlib for the layers), so digests are the same from run to run on a given Node version.
 * Tests must still read digests from the seeding result (`SeededImage`), never hard-code them.
 *
 * Kinds: `oci-index` (OCI index over OCI manifests, linux/amd64 + linux/arm64/v8), `docker-list` (Docker manifest list
 * over schema2 manifests, same platforms), `oci` and `docker` (single platform), `helm` (OCI artifact: a real Helm 3
 * chart `.tgz` with Chart.yaml, values.yaml and a template, config `application/vnd.cncf.helm.config.v1+json`, layer
 * `application/vnd.cncf.helm.chart.content.v1.tar+gzip`), `bench` (one 1 MiB layer of incompressible content).
 *
 * Exported API:
 * - `SEED_PLAN`: which images go to which registry (keys of `SourceRegistry.images` / `EmulatedAcr.images`).
 * - `buildImage(spec)` -> `BuiltImage` (pure; cached per process), `pushImage(client, built)` -> `SeededImage`,
 *   `seedRegistry(client, specs)` -> `Record<key, SeededImage>`.
 * - `registryTokenMinter({ signingKeyPem, signingCertPem, issuer, service })` -> `(scope) => token`: a registry token
 *   for the hub registry signed with the bed's token-signing key (ES256, `x5c`), so the bed can seed the hub without
 *   going through the emulator's token server (which may still be starting).
 */
import { createCipheriv, createHash, createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { SeededImage } from './types.js';
import { MEDIA_TYPES, sha256Digest, type RegistryClient } from './oci.js';
import { buildReferrers, type BuiltReferrers, type ReferrerMode } from './seed-referrers.js';

export type ImageKind = 'oci-index' | 'docker-list' | 'oci' | 'docker' | 'helm' | 'bench';

export interface ImageSpec {
  /** Key in the registry's `images` record. */
  key: string;
  repository: string;
  tag: string;
  kind: ImageKind;
  /** Content seed; defaults to `repository:tag`. */
  seed?: string;
  /** Signatures and an SBOM beside it (seed-referrers.ts); `fallback` adds OCI 1.1's sha256-<hex> index tags. */
  referrers?: ReferrerMode;
}

export type SeedTarget =
  'hub' | 'mcr' | 'private' | 'source' | 'locked' | 'otherSub' | 'otherTenant' | 'target';

const bench = (i: number): ImageSpec => ({
  key: `bench${i}`,
  repository: `bench/img${i}`,
  tag: 'v1',
  kind: 'bench',
});

/** What each registry of the bed holds after seeding. The target ACR starts empty. */
export const SEED_PLAN: Record<SeedTarget, ImageSpec[]> = {
  hub: [
    { key: 'multiArch', repository: 'library/hello', tag: 'latest', kind: 'oci-index' },
    // Another image in the same repository: for tag moves (NoForce / Force) and "unchanged" runs.
    { key: 'multiArchV1', repository: 'library/hello', tag: 'v1', kind: 'oci-index' },
    { key: 'manifestList', repository: 'library/busybox', tag: '1.36', kind: 'docker-list' },
    { key: 'ociSingle', repository: 'library/alpine', tag: '3.20', kind: 'oci' },
    { key: 'dockerSingle', repository: 'library/debian', tag: '12', kind: 'docker' },
    { key: 'helm', repository: 'charts/hello-chart', tag: '0.1.0', kind: 'helm' },
    // A signed image on a registry without the referrers API: found through the fallback tags.
    { key: 'signed', repository: 'library/signed', tag: '1.0', kind: 'oci', referrers: 'fallback' },
    ...Array.from({ length: 10 }, (_, i) => bench(i)),
  ],
  mcr: [
    { key: 'multiArch', repository: 'dotnet/runtime', tag: '8.0', kind: 'oci-index' },
    { key: 'dockerSingle', repository: 'azuredocs/aci-helloworld', tag: 'latest', kind: 'docker' },
  ],
  private: [
    { key: 'manifestList', repository: 'team/app', tag: '1.0', kind: 'docker-list' },
    { key: 'ociSingle', repository: 'team/tool', tag: '2.0', kind: 'oci' },
  ],
  source: [
    { key: 'multiArch', repository: 'app/web', tag: '1.0', kind: 'oci-index' },
    { key: 'ociSingle', repository: 'app/worker', tag: '1.0', kind: 'oci' },
    // Signed images, found through the emulated ACR's referrers API.
    { key: 'signed', repository: 'app/signed', tag: '1.0', kind: 'oci', referrers: 'api' },
    { key: 'signedIndex', repository: 'app/signed-multi', tag: '1.0', kind: 'oci-index', referrers: 'api' },
  ],
  locked: [
    { key: 'multiArch', repository: 'secure/web', tag: '1.0', kind: 'oci-index' },
    { key: 'dockerSingle', repository: 'secure/tool', tag: '1.0', kind: 'docker' },
  ],
  otherSub: [
    { key: 'multiArch', repository: 'shared/base', tag: '1.0', kind: 'oci-index' },
    { key: 'ociSingle', repository: 'shared/cli', tag: '1.0', kind: 'oci' },
  ],
  otherTenant: [
    { key: 'manifestList', repository: 'partner/app', tag: '2.0', kind: 'docker-list' },
    { key: 'ociSingle', repository: 'partner/agent', tag: '1.0', kind: 'oci' },
  ],
  target: [],
};

// ---------------------------------------------------------------------------------------------------------------
// Deterministic bytes

/** `length` pseudo-random bytes from `seed` (AES-256-CTR keystream over zeros). */
export function seededBytes(seed: string, length: number): Buffer {
  const key = createHash('sha256').update(`key:${seed}`).digest();
  const iv = createHash('sha256').update(`iv:${seed}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

/** 2024-01-01T00:00:00Z: every timestamp in seeded content. */
const EPOCH = 1704067200;
const CREATED = new Date(EPOCH * 1000).toISOString().replace('.000Z', 'Z');

interface TarEntry {
  name: string;
  content?: Buffer | string;
  /** Directory when true. */
  dir?: boolean;
  mode?: number;
}

/** A minimal POSIX ustar writer (regular files and directories, names up to 100 bytes). */
export function tar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.dir ? Buffer.alloc(0) : Buffer.from(entry.content ?? '');
    const header = Buffer.alloc(512);
    const name = entry.dir && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name;
    if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
    const octal = (value: number, width: number): string => value.toString(8).padStart(width - 1, '0') + '\0';
    header.write(name, 0, 100, 'utf8');
    header.write(octal(entry.mode ?? (entry.dir ? 0o755 : 0o644), 8), 100, 8, 'ascii');
    header.write(octal(0, 8), 108, 8, 'ascii'); // uid
    header.write(octal(0, 8), 116, 8, 'ascii'); // gid
    header.write(octal(content.length, 12), 124, 12, 'ascii');
    header.write(octal(EPOCH, 12), 136, 12, 'ascii');
    header.write('        ', 148, 8, 'ascii'); // checksum placeholder
    header.write(entry.dir ? '5' : '0', 156, 1, 'ascii');
    header.write('ustar\0', 257, 6, 'ascii');
    header.write('00', 263, 2, 'ascii');
    header.write('root', 265, 32, 'ascii');
    header.write('root', 297, 32, 'ascii');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
    blocks.push(header, content);
    const pad = (512 - (content.length % 512)) % 512;
    if (pad) blocks.push(Buffer.alloc(pad));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

// ---------------------------------------------------------------------------------------------------------------
// Building images

export interface BuiltBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface BuiltManifest {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
  platform?: string;
}

export interface BuiltImage {
  spec: ImageSpec;
  /** The top-level manifest (index/list for multi-arch). */
  top: BuiltManifest;
  /** Platform manifests of an index/list. */
  children: BuiltManifest[];
  blobs: BuiltBlob[];
  referrers?: BuiltReferrers;
}

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64', variant: 'v8' },
] as const;
type Platform = { os: string; architecture: string; variant?: string };
const platformString = (p: Platform): string => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

function blob(mediaType: string, bytes: Buffer): BuiltBlob {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes };
}

function manifest(mediaType: string, body: unknown, platform?: string): BuiltManifest {
  // Docker's tools indent with three spaces, OCI tools write compact JSON; either way the bytes are what count.
  const text = mediaType.startsWith('application/vnd.docker')
    ? JSON.stringify(body, null, 3)
    : JSON.stringify(body);
  const bytes = Buffer.from(text);
  const built: BuiltManifest = { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes };
  if (platform) built.platform = platform;
  return built;
}

const descriptor = (b: { mediaType: string; digest: string; size: number }): Record<string, unknown> => ({
  mediaType: b.mediaType,
  digest: b.digest,
  size: b.size,
});

/** One platform's image: a config and one gzip layer. */
function platformImage(
  seed: string,
  platform: Platform,
  docker: boolean,
  layerBytes?: Buffer,
): { manifest: BuiltManifest; blobs: BuiltBlob[] } {
  const plat = platformString(platform);
  const files = tar([
    { name: 'etc', dir: true },
    { name: 'etc/hello-release', content: `seed=${seed}\nplatform=${plat}\n` },
    { name: 'bin', dir: true },
    { name: 'bin/hello', content: layerBytes ?? seededBytes(`${seed}|${plat}|bin`, 700), mode: 0o755 },
  ]);
  // Random payloads do not compress: store them (level 0 is still a valid gzip stream) instead of spending 25 ms each.
  const layer = blob(
    docker ? MEDIA_TYPES.dockerLayerGzip : MEDIA_TYPES.ociLayerGzip,
    gzipSync(files, { level: layerBytes ? 0 : 6 }),
  );
  const configBody = {
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    created: CREATED,
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/bin/hello'],
    },
    rootfs: { type: 'layers', diff_ids: [sha256Digest(files)] },
    history: [{ created: CREATED, created_by: `acr-import test bed seed ${seed}` }],
  };
  const config = blob(
    docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig,
    Buffer.from(JSON.stringify(configBody)),
  );
  const mediaType = docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
  const body = { schemaVersion: 2, mediaType, config: descriptor(config), layers: [descriptor(layer)] };
  return { manifest: manifest(mediaType, body, plat), blobs: [config, layer] };
}

function multiArch(
  seed: string,
  docker: boolean,
): { top: BuiltManifest; children: BuiltManifest[]; blobs: BuiltBlob[] } {
  const parts = PLATFORMS.map((p) => ({ platform: p, ...platformImage(seed, p, docker) }));
  const mediaType = docker ? MEDIA_TYPES.dockerList : MEDIA_TYPES.ociIndex;
  const body = {
    schemaVersion: 2,
    mediaType,
    manifests: parts.map((part) => ({ ...descriptor(part.manifest), platform: { ...part.platform } })),
  };
  return {
    top: manifest(mediaType, body),
    children: parts.map((p) => p.manifest),
    blobs: parts.flatMap((p) => p.blobs),
  };
}

function helmChart(
  seed: string,
  repository: string,
  tag: string,
): { top: BuiltManifest; blobs: BuiltBlob[] } {
  const name = repository.split('/').pop() ?? 'chart';
  const chartYaml = [
    'apiVersion: v2',
    `name: ${name}`,
    'description: A tiny chart seeded by the acr-import test bed',
    'type: application',
    `version: ${tag}`,
    'appVersion: "1.0.0"',
    '',
  ].join('\n');
  const valuesYaml = `greeting: hello\nseed: ${JSON.stringify(seed)}\n`;
  const template = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: {{ .Release.Name }}-greeting',
    'data:',
    '  greeting: {{ .Values.greeting | quote }}',
    '',
  ].join('\n');
  const chart = gzipSync(
    tar([
      { name: `${name}/Chart.yaml`, content: chartYaml },
      { name: `${name}/values.yaml`, content: valuesYaml },
      { name: `${name}/templates/configmap.yaml`, content: template },
    ]),
    { level: 9 },
  );
  const config = blob(
    MEDIA_TYPES.helmConfig,
    Buffer.from(
      JSON.stringify({
        name,
        version: tag,
        description: 'A tiny chart seeded by the acr-import test bed',
        apiVersion: 'v2',
        appVersion: '1.0.0',
        type: 'application',
      }),
    ),
  );
  const layer = blob(MEDIA_TYPES.helmChart, chart);
  const body = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: descriptor(config),
    layers: [descriptor(layer)],
    annotations: {
      'org.opencontainers.image.created': CREATED,
      'org.opencontainers.image.description': 'A tiny chart seeded by the acr-import test bed',
      'org.opencontainers.image.title': name,
      'org.opencontainers.image.version': tag,
    },
  };
  return { top: manifest(MEDIA_TYPES.ociManifest, body), blobs: [config, layer] };
}

const built = new Map<string, BuiltImage>();

/** Builds an image's bytes (pure; the result is cached per process by spec). */
export function buildImage(spec: ImageSpec): BuiltImage {
  const seed = spec.seed ?? `${spec.repository}:${spec.tag}`;
  const cacheKey = `${spec.kind}|${spec.repository}|${spec.tag}|${seed}|${spec.referrers ?? ''}`;
  const cached = built.get(cacheKey);
  if (cached) return { ...cached, spec };
  let image: BuiltImage;
  switch (spec.kind) {
    case 'oci-index':
    case 'docker-list': {
      const m = multiArch(seed, spec.kind === 'docker-list');
      image = { spec, top: m.top, children: m.children, blobs: m.blobs };
      break;
    }
    case 'oci':
    case 'docker': {
      const p = platformImage(seed, PLATFORMS[0], spec.kind === 'docker');
      image = { spec, top: p.manifest, children: [], blobs: p.blobs };
      break;
    }
    case 'bench': {
      // 1 MiB in total: the tar around the payload adds a few KiB that gzip cannot win back from random bytes.
      const p = platformImage(seed, PLATFORMS[0], false, seededBytes(`${seed}|payload`, 1024 * 1024 - 4096));
      image = { spec, top: p.manifest, children: [], blobs: p.blobs };
      break;
    }
    case 'helm': {
      const h = helmChart(seed, spec.repository, spec.tag);
      image = { spec, top: h.top, children: [], blobs: h.blobs };
      break;
    }
  }
  delete image.top.platform;
  if (spec.referrers) {
    image.referrers = buildReferrers(
      seed,
      `${spec.repository}:${spec.tag}`,
      image.top,
      image.children,
      spec.referrers,
    );
  }
  built.set(cacheKey, image);
  return image;
}

/** The `SeededImage` record of a built image. */
export function describeImage(image: BuiltImage): SeededImage {
  return {
    repository: image.spec.repository,
    tag: image.spec.tag,
    digest: image.top.digest,
    mediaType: image.top.mediaType,
    platforms: image.children.map((c) => ({
      platform: c.platform ?? '',
      digest: c.digest,
      mediaType: c.mediaType,
    })),
    blobs: [...new Set(image.blobs.map((b) => b.digest))],
    ...(image.referrers && {
      referrers: image.referrers.referrers.map((r) => ({
        digest: r.manifest.digest,
        artifactType: r.artifactType,
        subject: r.subject,
        ...(r.tag ? { tag: r.tag } : {}),
      })),
    }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Pushing

/** Pushes blobs, then platform manifests, then the top manifest under its tag. */
export async function pushImage(client: RegistryClient, image: BuiltImage): Promise<SeededImage> {
  const repo = image.spec.repository;
  const unique = new Map(image.blobs.map((b) => [b.digest, b]));
  await Promise.all([...unique.values()].map((b) => client.putBlob(repo, b.bytes, b.digest)));
  await Promise.all(image.children.map((c) => client.putManifest(repo, c.digest, c.bytes, c.mediaType)));
  const pushed = await client.putManifest(repo, image.spec.tag, image.top.bytes, image.top.mediaType);
  if (pushed !== image.top.digest)
    throw new Error(`${repo}:${image.spec.tag}: pushed ${pushed}, built ${image.top.digest}`);
  if (image.referrers) {
    // Subjects first (the list is in that order), each referrer by digest, then cosign and fallback tags.
    for (const r of image.referrers.referrers) {
      const blobs = new Map(r.blobs.map((b) => [b.digest, b]));
      await Promise.all([...blobs.values()].map((b) => client.putBlob(repo, b.bytes, b.digest)));
      await client.putManifest(repo, r.manifest.digest, r.manifest.bytes, r.manifest.mediaType);
      if (r.tag) await client.putManifest(repo, r.tag, r.manifest.bytes, r.manifest.mediaType);
    }
    for (const f of image.referrers.fallbackTags) {
      await client.putManifest(repo, f.tag, f.manifest.bytes, f.manifest.mediaType);
    }
  }
  return describeImage(image);
}

/** Builds and pushes every spec (images in parallel) and returns them by key. */
export async function seedRegistry(
  client: RegistryClient,
  specs: ImageSpec[],
): Promise<Record<string, SeededImage>> {
  const entries = await Promise.all(
    specs.map(async (spec) => [spec.key, await pushImage(client, buildImage(spec))] as const),
  );
  return Object.fromEntries(entries);
}

// ---------------------------------------------------------------------------------------------------------------
// Hub registry tokens minted in-process

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/**
 * Returns `(scope) => token`: a docker-registry token (JWT, ES256, certificate in `x5c`) granting the scope's actions,
 * signed with the bed's token-signing key. Scopes are space-separated `repository:<name>:<actions>`.
 */
export function registryTokenMinter(options: {
  signingKeyPem: string;
  signingCertPem: string;
  issuer: string;
  service: string;
  subject?: string;
  lifetimeSeconds?: number;
}): (scope: string) => string {
  const key = createPrivateKey(options.signingKeyPem);
  const x5c = [new X509Certificate(options.signingCertPem).raw.toString('base64')];
  return (scope: string): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scope
      .split(' ')
      .filter(Boolean)
      .map((s) => {
        const first = s.indexOf(':');
        const last = s.lastIndexOf(':');
        return {
          type: s.slice(0, first),
          name: s.slice(first + 1, last),
          actions: s.slice(last + 1).split(','),
        };
      });
    const header = b64url(JSON.stringify({ alg: 'ES256', typ: 'JWT', x5c }));
    const claims = b64url(
      JSON.stringify({
        iss: options.issuer,
        sub: options.subject ?? 'testbed-seeder',
        aud: options.service,
        exp: now + (options.lifetimeSeconds ?? 3600),
        nbf: now - 5,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    return `${header}.${claims}.${b64url(signature)}`;
  };
}
