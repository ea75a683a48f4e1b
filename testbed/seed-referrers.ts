/**
 * Signatures and SBOMs for seeded images, in the shapes real tools push (deterministic bytes, like seed.ts):
 * - a Notation signature: an OCI 1.1 artifact (`artifactType: application/vnd.cncf.notary.signature`, empty config
 *   `application/vnd.oci.empty.v1+json`, one `application/jose+json` JWS envelope layer, Notation's thumbprint and
 *   created annotations) whose `subject` is the image, as `notation sign` pushes it;
 * - an SPDX SBOM: `artifactType: application/spdx+json`, empty config, one `application/spdx+json` layer (an SPDX 2.3
 *   document), `subject` = the image, as `oras attach --artifact-type application/spdx+json` pushes it;
 * - a second Notation signature of the image (another signer), and a Notation signature of the SBOM (a referrer of
 *   a referrer);
 * - a cosign signature: an image manifest with an image config and one `application/vnd.dev.cosign.simplesigning.v1+json`
 *   layer carrying the `dev.cosignproject.cosign/signature` annotation, no subject, tagged `sha256-<hex>.sig` in the
 *   image's repository (cosign's tag convention);
 * - for an index: a Notation signature of the index and one of its first platform manifest (linux/amd64).
 * Mode `fallback` also pushes OCI 1.1's fallback tags, `sha256-<hex>` = an index of each subject's referrers, as
 * clients do on a registry without the referrers API (the `hub`); mode `api` relies on the registry's referrers API
 * (the emulated ACRs compute it from storage).
 */
import { sha256Digest } from './oci.js';
import type { BuiltBlob, BuiltManifest } from './seed.js';

export type ReferrerMode = 'api' | 'fallback';

export const ARTIFACT_TYPES = {
  notation: 'application/vnd.cncf.notary.signature',
  spdx: 'application/spdx+json',
  cosign: 'application/vnd.dev.cosign.simplesigning.v1+json',
} as const;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const EMPTY = 'application/vnd.oci.empty.v1+json';
const CREATED = '2024-01-01T00:00:00Z';

export interface BuiltReferrer {
  manifest: BuiltManifest;
  blobs: BuiltBlob[];
  artifactType: string;
  subject: string;
  /** cosign's tag for it. */
  tag?: string;
}

export interface BuiltReferrers {
  /** Subjects before their referrers. */
  referrers: BuiltReferrer[];
  /** OCI 1.1 fallback tags (mode `fallback`). */
  fallbackTags: { tag: string; manifest: BuiltManifest }[];
}

function blob(mediaType: string, bytes: Buffer): BuiltBlob {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes };
}

function manifest(mediaType: string, body: unknown): BuiltManifest {
  const bytes = Buffer.from(JSON.stringify(body));
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes };
}

const descriptor = (m: { mediaType: string; digest: string; size: number }): Record<string, unknown> => ({
  mediaType: m.mediaType,
  digest: m.digest,
  size: m.size,
});

const emptyConfig = blob(EMPTY, Buffer.from('{}'));

/** Deterministic "signature" bytes: the real thing's shape, not a verifiable signature. */
const fakeSignature = (seed: string): string =>
  Buffer.from(sha256Digest(Buffer.from(`sig:${seed}`)).slice(7), 'hex').toString('base64url');

function notationSignature(seed: string, subject: BuiltManifest): BuiltReferrer {
  const protectedHeader = Buffer.from(
    JSON.stringify({
      alg: 'PS256',
      crit: ['io.cncf.notary.signingScheme'],
      cty: 'application/vnd.cncf.notary.payload.v1+json',
      'io.cncf.notary.signingScheme': 'notary.x509',
      'io.cncf.notary.signingTime': CREATED,
    }),
  ).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ targetArtifact: { ...descriptor(subject) } })).toString(
    'base64url',
  );
  const envelope = blob(
    'application/jose+json',
    Buffer.from(
      JSON.stringify({
        payload,
        protected: protectedHeader,
        header: { x5c: [fakeSignature(`${seed}|cert`)] },
        signature: fakeSignature(`${seed}|${subject.digest}`),
      }),
    ),
  );
  const thumbprint = sha256Digest(Buffer.from(`cert:${seed}`)).slice(7);
  return {
    manifest: manifest(OCI_MANIFEST, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: ARTIFACT_TYPES.notation,
      config: descriptor(emptyConfig),
      layers: [descriptor(envelope)],
      subject: descriptor(subject),
      annotations: {
        'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify([thumbprint]),
        'org.opencontainers.image.created': CREATED,
      },
    }),
    blobs: [emptyConfig, envelope],
    artifactType: ARTIFACT_TYPES.notation,
    subject: subject.digest,
  };
}

function spdxSbom(seed: string, subject: BuiltManifest): BuiltReferrer {
  const document = blob(
    ARTIFACT_TYPES.spdx,
    Buffer.from(
      JSON.stringify({
        spdxVersion: 'SPDX-2.3',
        dataLicense: 'CC0-1.0',
        SPDXID: 'SPDXRef-DOCUMENT',
        name: seed,
        documentNamespace: `https://testbed.local/spdx/${encodeURIComponent(seed)}`,
        creationInfo: { created: CREATED, creators: ['Tool: acr-import-testbed'] },
        packages: [
          {
            name: 'hello',
            SPDXID: 'SPDXRef-Package-hello',
            versionInfo: '1.0.0',
            downloadLocation: 'NOASSERTION',
            licenseConcluded: 'MIT',
          },
        ],
      }),
    ),
  );
  return {
    manifest: manifest(OCI_MANIFEST, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: ARTIFACT_TYPES.spdx,
      config: descriptor(emptyConfig),
      layers: [
        { ...descriptor(document), annotations: { 'org.opencontainers.image.title': 'sbom.spdx.json' } },
      ],
      subject: descriptor(subject),
      annotations: { 'org.opencontainers.image.created': CREATED },
    }),
    blobs: [emptyConfig, document],
    artifactType: ARTIFACT_TYPES.spdx,
    subject: subject.digest,
  };
}

function cosignSignature(seed: string, subject: BuiltManifest, reference: string): BuiltReferrer {
  const payload = blob(
    ARTIFACT_TYPES.cosign,
    Buffer.from(
      JSON.stringify({
        critical: {
          identity: { 'docker-reference': reference },
          image: { 'docker-manifest-digest': subject.digest },
          type: 'cosign container image signature',
        },
        optional: null,
      }),
    ),
  );
  const config = blob(
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(
      JSON.stringify({
        architecture: '',
        created: '0001-01-01T00:00:00Z',
        history: [{ created: '0001-01-01T00:00:00Z' }],
        os: '',
        rootfs: { type: 'layers', diff_ids: [payload.digest] },
        config: {},
      }),
    ),
  );
  return {
    manifest: manifest(OCI_MANIFEST, {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor(config),
      layers: [
        {
          ...descriptor(payload),
          annotations: {
            'dev.cosignproject.cosign/signature': fakeSignature(`${seed}|cosign|${subject.digest}`),
          },
        },
      ],
    }),
    blobs: [config, payload],
    artifactType: ARTIFACT_TYPES.cosign,
    subject: subject.digest,
    tag: `${subject.digest.replace(':', '-')}.sig`,
  };
}

/** The referrers of a built image (see the module header). */
export function buildReferrers(
  seed: string,
  reference: string,
  top: BuiltManifest,
  children: BuiltManifest[],
  mode: ReferrerMode,
): BuiltReferrers {
  const referrers: BuiltReferrer[] = [];
  if (children.length === 0) {
    const sbom = spdxSbom(seed, top);
    referrers.push(
      notationSignature(seed, top),
      // A second signer: three referrers of one subject take two pages of the emulator's referrers API.
      notationSignature(`${seed}|second signer`, top),
      sbom,
      notationSignature(`${seed}|sbom`, sbom.manifest),
      cosignSignature(seed, top, reference),
    );
  } else {
    referrers.push(notationSignature(seed, top), notationSignature(`${seed}|child`, children[0]!));
  }
  const fallbackTags: BuiltReferrers['fallbackTags'] = [];
  if (mode === 'fallback') {
    const bySubject = new Map<string, BuiltReferrer[]>();
    for (const r of referrers.filter((r) => !r.tag)) {
      bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r]);
    }
    for (const [subject, list] of bySubject) {
      fallbackTags.push({
        tag: subject.replace(':', '-'),
        manifest: manifest(OCI_INDEX, {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: list.map((r) => ({ ...descriptor(r.manifest), artifactType: r.artifactType })),
        }),
      });
    }
  }
  return { referrers, fallbackTags };
}
