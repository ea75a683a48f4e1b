/**
 * Source strategy: how importImage reaches each source (an ACR by resource ID, a registry with credentials, an ACR
 * in another tenant through a federated identity, or a public registry as is), and a client to read it from here.
 */
import { AcrAuthorizer } from '../clients/acr.js';
import type { ImportImageBody, RegistryResource } from '../clients/arm.js';
import { RegistryClient } from '../clients/registry.js';
import { CLOUDS } from '../config/clouds.js';
import type { ImageSpec } from '../config/model.js';
import { asImportError, AuthError, RemoteError } from '../errors.js';
import { sourceImage } from '../reference.js';
import type { Session } from './session.js';
import { TokenProvider } from './sign-in.js';

/** The username that goes with an ACR refresh token used as a password. */
const ACR_TOKEN_USERNAME = '00000000-0000-0000-0000-000000000000';

/** Registries that are never ACRs: their sources resolve at once, without waiting for the registry list. */
const PUBLIC_REGISTRIES = new Set([
  'docker.io',
  'mcr.microsoft.com',
  'ghcr.io',
  'quay.io',
  'registry.k8s.io',
  'gcr.io',
  'public.ecr.aws',
  'nvcr.io',
  'registry.gitlab.com',
]);

export interface SourcePlan {
  /** Where importImage copies from. */
  source: ImportImageBody['source'];
  /** A client that can read the source from here, or undefined when the runner cannot reach it. */
  client: RegistryClient | undefined;
  /** Why the source cannot be read from here (then we import by tag and read the digest from the target). */
  unreachable?: string;
}

export async function planSource(s: Session, spec: ImageSpec, provisional?: SourcePlan): Promise<SourcePlan> {
  const ref = spec.source;
  const image = sourceImage(ref);
  const creds = s.config.sourceCredentials;
  if (s.config.sourceRegistryName !== undefined) {
    // As az does it: the name is looked up among the subscription's registries, and the import goes by resource ID.
    const registry = await sourceRegistryByName(s, s.config.sourceRegistryName);
    return reachableAcr(s, registry, image);
  }
  if (s.config.sourceRegistryResourceId) {
    const id = s.config.sourceRegistryResourceId.resourceId;
    let registry: RegistryResource | undefined;
    try {
      registry = await s.arm.getRegistry(id);
    } catch (err) {
      const e = asImportError(err);
      return {
        source: { resourceId: id, sourceImage: image },
        client: undefined,
        unreachable: `the source registry could not be read through ARM (${e.message})`,
      };
    }
    return reachableAcr(s, registry, image);
  }
  const host = ref.registry!;
  if (s.config.sourceFederation) return federatedSource(s, host, image);
  if (creds) {
    return {
      source: {
        registryUri: host,
        sourceImage: image,
        credentials: { ...(creds.username ? { username: creds.username } : {}), password: creds.password },
      },
      client: s.sourceClient(host),
    };
  }
  if (!PUBLIC_REGISTRIES.has(host)) {
    // As az does it: a login server of an ACR in the subscription becomes a resourceId source (Entra auth).
    const acr = (await s.registries().catch(() => [])).find((r) => r.loginServer === host.toLowerCase());
    if (acr)
      return { source: { resourceId: acr.id, sourceImage: image }, client: sourceAcrClient(s, acr, host) };
  }
  return provisional ?? plainSource(s, host, image);
}

/**
 * The plan of a source that is a plain registry unless the subscription's registry list says its host is one of
 * its ACRs, for reading the source before that list is in (issue 11: the list waits for sign-in; a registry that
 * needs no Azure token need not). Undefined where the plan is known at once anyway, or the host is named like an
 * ACR (`*.azurecr.io` and the other clouds'), which waits for the list. `planSource(s, spec, provisional)` returns
 * this very plan when the list does not name the host.
 */
export function provisionalPlan(s: Session, spec: ImageSpec): SourcePlan | undefined {
  const { config } = s;
  if (
    config.sourceRegistryName !== undefined ||
    config.sourceRegistryResourceId ||
    config.sourceFederation ||
    config.sourceCredentials
  ) {
    return undefined;
  }
  const host = spec.source.registry;
  if (!host || PUBLIC_REGISTRIES.has(host) || namedLikeAcr(host, config.cloud.loginSuffix)) return undefined;
  return plainSource(s, host, sourceImage(spec.source));
}

function namedLikeAcr(host: string, cloudSuffix: string): boolean {
  const name = host.toLowerCase().replace(/:\d+$/, '');
  return [cloudSuffix, ...Object.values(CLOUDS).map((c) => c.loginSuffix)].some((suffix) =>
    name.endsWith(suffix.toLowerCase()),
  );
}

function plainSource(s: Session, host: string, image: string): SourcePlan {
  return { source: { registryUri: host, sourceImage: image }, client: s.sourceClient(host) };
}

/** A source ACR imported by resource ID; read from here too, unless its public network access is disabled. */
function reachableAcr(s: Session, registry: RegistryResource, image: string): SourcePlan {
  if (!registry.publicNetworkAccess) {
    return {
      source: { resourceId: registry.id, sourceImage: image },
      client: undefined,
      unreachable: `${registry.name} has public network access disabled`,
    };
  }
  return { source: { resourceId: registry.id, sourceImage: image }, client: sourceAcrClient(s, registry) };
}

/**
 * The client of a source ACR, told which repositories the run reads there (every image's, or those of the images
 * whose source host is `host`), so that one token request covers them (clients/registry.ts).
 */
function sourceAcrClient(s: Session, registry: RegistryResource, host?: string): RegistryClient {
  const client = s.acrClient(registry);
  client.expectRepositories(
    s.config.images
      .filter((spec) => host === undefined || spec.source.registry?.toLowerCase() === host.toLowerCase())
      .map((spec) => spec.source.repository),
  );
  return client;
}

/** The source ACR named `name` among the subscription's registries. */
async function sourceRegistryByName(s: Session, name: string): Promise<RegistryResource> {
  const all = await s.registries();
  const match = all.find((r) => r.name.toLowerCase() === name.toLowerCase());
  if (!match) {
    throw new RemoteError({
      service: 'Azure Resource Manager',
      code: 'ResourceNotFound',
      message: `No container registry named '${name}' is visible in subscription ${s.config.subscriptionId} (${all.length} registr${all.length === 1 ? 'y' : 'ies'} listed), so the source registry cannot be found.`,
      hint: 'Check the source registry name; the identity needs read access on it (Reader or the importer role). A registry in another subscription: give its login server or resource ID instead.',
    });
  }
  return match;
}

/**
 * A source ACR in another tenant, signed in with a second federated identity: its Entra token is exchanged at the
 * source registry for an ACR refresh token, which Azure then uses to pull (username 00000000-...-000000000000).
 * No stored secret on either side.
 */
async function federatedSource(s: Session, host: string, image: string): Promise<SourcePlan> {
  const { tenantId, clientId } = s.config.sourceFederation!;
  const choice = await s.choice;
  if (!choice.federated) {
    throw new AuthError(
      'source-tenant-id and source-client-id sign in with an OIDC ID token (a federated credential), but this run does not sign in with one.',
      `Use ${s.wording.authMode('oidc')} (${s.wording.idTokenMissing}), or give source-username and source-password instead.`,
    );
  }
  const credential = choice.federated(tenantId, clientId);
  const tokens = new TokenProvider(
    Promise.resolve({ credential, mode: 'oidc', presented: choice.presented }),
    { tenantId, clientId, audience: s.config.audience },
    s.ports.clock,
    s.ports.mask,
    s.wording,
  );
  const authorizer = new AcrAuthorizer(
    s.http,
    s.ports.mask,
    host,
    () => tokens.token(s.config.cloud.acrScope),
    tenantId,
  );
  const refresh = await authorizer.refresh();
  return {
    source: {
      registryUri: host,
      sourceImage: image,
      credentials: { username: ACR_TOKEN_USERNAME, password: refresh },
    },
    client: new RegistryClient(s.http, host, authorizer),
  };
}
