/**
 * The config model: the public input names, their defaults and environment fallbacks, the auth modes, and the typed
 * `ImportConfig` every stage of a run reads. Types and constants only.
 */
import type { ImageReference, TargetTag } from '../reference.js';
import type { ReferrerSelection } from './referrers.js';
import type { CloudName, CloudSettings } from './clouds.js';

// ---------------------------------------------------------------------------------------------------------------------
// Names, defaults, public types

/** The public input names, shared by every adapter (the CLI turns them into `--flags`). */
export const INPUTS = {
  registry: 'registry',
  resourceGroup: 'resource-group',
  subscriptionId: 'subscription-id',
  tenantId: 'tenant-id',
  clientId: 'client-id',
  auth: 'auth',
  clientSecret: 'client-secret',
  audience: 'audience',
  environment: 'environment',
  resourceManagerEndpoint: 'resource-manager-endpoint',
  authorityHost: 'authority-host',
  source: 'source',
  targetTags: 'target-tags',
  untaggedRepositories: 'untagged-repositories',
  sourceRegistryResourceId: 'source-registry-resource-id',
  sourceUsername: 'source-username',
  sourcePassword: 'source-password',
  sourceTenantId: 'source-tenant-id',
  sourceClientId: 'source-client-id',
  force: 'force',
  pinDigest: 'pin-digest',
  wait: 'wait',
  timeout: 'timeout',
  apiVersion: 'api-version',
  images: 'images',
  imagesFile: 'images-file',
  maxParallel: 'max-parallel',
  dryRun: 'dry-run',
  lockFile: 'lock-file',
  locked: 'locked',
  platform: 'platform',
  expectedDigest: 'expected-digest',
  referrers: 'referrers',
} as const;

export type InputName = (typeof INPUTS)[keyof typeof INPUTS];

/** Inputs whose values are secrets: adapters mask them before anything else, and problems show them as `***`. */
export const SECRET_INPUTS: readonly InputName[] = [INPUTS.clientSecret, INPUTS.sourcePassword];

/** Raw inputs by public name, as the adapter read them; an empty string means "not given". */
export type RawInputs = Readonly<Record<string, string | undefined>>;

/** Environment variables that stand in for missing inputs. */
export const ENV_FALLBACKS = {
  [INPUTS.subscriptionId]: 'AZURE_SUBSCRIPTION_ID',
  [INPUTS.tenantId]: 'AZURE_TENANT_ID',
  [INPUTS.clientId]: 'AZURE_CLIENT_ID',
} as const;

export type EnvFallbacks = Readonly<
  Partial<Record<(typeof ENV_FALLBACKS)[keyof typeof ENV_FALLBACKS], string>>
>;

export const AUTH_MODES = ['auto', 'oidc', 'client-secret', 'managed-identity', 'azure-cli'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

/** Defaults of the optional inputs (action.yml and the CLI's help state the same). */
export const DEFAULTS = {
  auth: 'auto' as AuthMode,
  audience: 'api://AzureADTokenExchange',
  environment: 'AzureCloud' as CloudName,
  force: false,
  pinDigest: true,
  wait: true,
  timeout: '10m',
  timeoutMs: 600_000,
  apiVersion: '2025-04-01',
  maxParallel: 8,
  dryRun: false,
  locked: false,
  referrers: 'none' as ReferrerSelection,
} as const;

export const MAX_PARALLEL_LIMIT = 64;
export const TIMEOUT_LIMIT_MS = 6 * 3600_000;

/** An ACR resource ID, split into its parts. `resourceId` uses the canonical casing of the fixed segments. */
export interface RegistryResourceId {
  readonly resourceId: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

/** The target registry as the user gave it. */
export type RegistryRef =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'loginServer'; readonly loginServer: string }
  | ({ readonly kind: 'resourceId' } & RegistryResourceId);

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** One image to import, with everything an importer needs to run it on its own. */
export interface ImageSpec {
  /** Where it was given, for messages: `source`, `images line 3`, `images-file entry 2`. */
  readonly origin: string;
  readonly source: ImageReference;
  /** The source as the user wrote it. */
  readonly sourceText: string;
  /** Tags to set in the target registry; empty when only untagged repositories are wanted. */
  readonly targets: readonly TargetTag[];
  readonly untaggedRepositories: readonly string[];
  /** Import only this platform's manifest out of an index. */
  readonly platform?: Platform;
  /** Fail unless the source resolves to this digest. */
  readonly expectedDigest?: string;
}

export interface ImportConfig {
  readonly target: RegistryRef;
  readonly resourceGroup?: string;
  readonly subscriptionId: string;
  readonly tenantId?: string;
  readonly clientId?: string;
  readonly auth: AuthMode;
  readonly clientSecret?: string;
  readonly audience: string;
  readonly cloud: CloudSettings;
  readonly images: readonly ImageSpec[];
  /** Source ACR by resource ID; the images' sources are then host-less. */
  readonly sourceRegistryResourceId?: RegistryResourceId;
  /**
   * The source ACR by its name (the CLI's `--registry NAME`, as az takes it): found in the subscription's registry
   * list, then imported through its resource ID. Not an input: a host sets it (ConfigPorts.sourceRegistryName).
   */
  readonly sourceRegistryName?: string;
  readonly sourceCredentials?: { readonly username: string; readonly password: string };
  /** A second federated identity in the source's tenant; its Entra token becomes the import password. */
  readonly sourceFederation?: { readonly tenantId: string; readonly clientId: string };
  readonly force: boolean;
  readonly pinDigest: boolean;
  /** pin-digest: strict: a source the runner cannot reach fails instead of being imported by tag. */
  readonly pinDigestStrict?: boolean;
  readonly wait: boolean;
  /** Per image. */
  readonly timeoutMs: number;
  readonly apiVersion: string;
  readonly maxParallel: number;
  readonly dryRun: boolean;
  readonly lockFile?: string;
  readonly locked: boolean;
  /** Signatures, SBOMs and attestations to copy with each image (OCI referrers and cosign tags). */
  readonly referrers: ReferrerSelection;
}

export type { ConfigPorts } from '../ports.js';
