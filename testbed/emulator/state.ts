/**
 * The emulated world built from EmulatorConfig: tenants, principals, subscriptions, registries (with their ARM ids
 * and login servers), role assignments, signing keys and the URLs of every emulated service. Read-only after start,
 * except for the Control API state and the import operations.
 */
import type { EmulatorConfig } from './config.js';
import type { ControlState } from './control.js';
import type { SigningKey } from './jwt.js';
import { Rbac } from './rbac.js';

export type PrincipalConfig = EmulatorConfig['principals'][number];
export type SubscriptionConfig = EmulatorConfig['subscriptions'][number];

export interface Registry {
  config: EmulatorConfig['registries'][number];
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  tenantId: string;
  /** ARM resource ID (canonical casing). */
  id: string;
  /** `127.0.0.1:<port>` */
  loginServer: string;
  location: string;
  createdAt: string;
}

export interface Keys {
  /** GitHub OIDC ID tokens. */
  oidc: SigningKey;
  /** Entra access tokens (ARM, ACR audiences, managed identity). */
  entra: SigningKey;
  /** ACR refresh and access tokens. */
  acr: SigningKey;
  /** Hub registry tokens (the bed's EC signing key + certificate). */
  hub: SigningKey;
  /** Azure DevOps OIDC tokens (service connections). */
  azureDevOps: SigningKey;
}

export interface Urls {
  oidc: string;
  entra: string;
  arm: string;
  hubAuth: string;
  control: string;
}

export const ACR_AUDIENCE = 'https://containerregistry.azure.net';
export const ARM_AUDIENCES = ['https://management.azure.com', 'https://management.core.windows.net'];
/**
 * The emulator's own cloud's ARM audience, as Azure Stack Hub's is: an application ID URI that is not the ARM URL.
 * A client learns it only from `GET <arm>/metadata/endpoints`; Entra knows no resource named after the ARM URL.
 */
export const EMULATOR_ARM_AUDIENCE =
  'https://management.acrimport.emulator/7c1f6a52-93a4-4c8e-9d0e-2b8f0e6d5a31';

export class World {
  readonly urls: Urls;
  readonly rbac: Rbac;
  readonly registries: Registry[];
  /** The emulator's CA bundle (PEM), used when the emulator itself calls an HTTPS registry. */
  readonly ca: string;
  readonly startedAt = Date.now();
  /** The secret App Service managed identity clients must send in `X-IDENTITY-HEADER`. */
  readonly managedIdentityHeader: string;

  constructor(
    readonly config: EmulatorConfig,
    readonly keys: Keys,
    readonly control: ControlState,
    ca: string,
  ) {
    this.ca = ca;
    const origin = (port: number): string => `https://127.0.0.1:${port}`;
    this.urls = {
      oidc: origin(config.ports.oidc),
      entra: origin(config.ports.entra),
      arm: origin(config.ports.arm),
      hubAuth: origin(config.ports.hubAuth),
      control: origin(config.ports.control),
    };
    this.rbac = new Rbac(config.roleAssignments);
    const created = new Date(this.startedAt - 86_400_000).toISOString();
    this.registries = config.registries.map((r) => ({
      config: r,
      name: r.name,
      subscriptionId: r.subscriptionId,
      resourceGroup: r.resourceGroup,
      tenantId: this.subscription(r.subscriptionId)?.tenantId ?? '',
      id: `/subscriptions/${r.subscriptionId}/resourceGroups/${r.resourceGroup}/providers/Microsoft.ContainerRegistry/registries/${r.name}`,
      loginServer: `127.0.0.1:${r.port}`,
      location: r.location,
      createdAt: created,
    }));
    this.managedIdentityHeader = config.managedIdentityHeader ?? config.github.requestToken;
    control.addSecret(this.managedIdentityHeader);
    control.addSecret(config.github.requestToken);
    control.addSecret(config.azureDevOps?.accessToken);
    for (const p of config.principals) control.addSecret(p.clientSecret);
    for (const a of config.hub.accounts) control.addSecret(a.password);
  }

  /** Token lifetime in seconds: the `tokenLifetimeSeconds` fault, else `fallback`. */
  lifetime(fallback: number): number {
    return this.control.faults.tokenLifetimeSeconds ?? fallback;
  }

  hasTenant(tenantId: string): boolean {
    return this.config.tenants.some((t) => t.toLowerCase() === tenantId.toLowerCase());
  }

  subscription(id: string): SubscriptionConfig | undefined {
    return this.config.subscriptions.find((s) => s.id.toLowerCase() === id.toLowerCase());
  }

  principalByName(name: string): PrincipalConfig | undefined {
    return this.config.principals.find((p) => p.name === name);
  }

  principalByClientId(clientId: string, tenantId?: string): PrincipalConfig | undefined {
    return this.config.principals.find(
      (p) =>
        p.clientId.toLowerCase() === clientId.toLowerCase() &&
        (tenantId === undefined || p.tenantId.toLowerCase() === tenantId.toLowerCase()),
    );
  }

  principalByObjectId(objectId: string, tenantId: string): PrincipalConfig | undefined {
    return this.config.principals.find(
      (p) =>
        p.objectId.toLowerCase() === objectId.toLowerCase() &&
        p.tenantId.toLowerCase() === tenantId.toLowerCase(),
    );
  }

  resourceGroups(subscriptionId: string): { name: string; location: string }[] {
    const seen = new Map<string, { name: string; location: string }>();
    for (const r of this.registries) {
      if (r.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) continue;
      const key = r.resourceGroup.toLowerCase();
      if (!seen.has(key)) seen.set(key, { name: r.resourceGroup, location: r.location });
    }
    return [...seen.values()];
  }

  registry(subscriptionId: string, resourceGroup: string, name: string): Registry | undefined {
    return this.registries.find(
      (r) =>
        r.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() &&
        r.resourceGroup.toLowerCase() === resourceGroup.toLowerCase() &&
        r.name.toLowerCase() === name.toLowerCase(),
    );
  }

  registryById(id: string): Registry | undefined {
    return this.registries.find((r) => r.id.toLowerCase() === id.toLowerCase().replace(/\/+$/, ''));
  }

  /** A registry's network settings now: its configuration, under the `network` fault's override. */
  network(registry: Registry): { publicNetworkAccess: boolean; trustedServices: boolean } {
    const override = this.control.faults.network?.[registry.name];
    return {
      publicNetworkAccess: override?.publicNetworkAccess ?? registry.config.publicNetworkAccess,
      trustedServices: override?.trustedServices ?? true,
    };
  }

  registryByLoginServer(host: string): Registry | undefined {
    return this.registries.find((r) => r.loginServer.toLowerCase() === host.toLowerCase());
  }

  /** `iss` of Entra access tokens for `tenantId` (v1 tokens, as ARM and ACR receive them). */
  entraIssuer(tenantId: string): string {
    return `https://sts.windows.net/${tenantId}/`;
  }

  /** The emulator's stand-in for `https://login.microsoftonline.com/<tenant>`. */
  authority(tenantId: string): string {
    return `${this.urls.entra}/${tenantId}`;
  }

  /** The audiences ARM accepts: the public cloud's and the emulator cloud's (never its URL); slash or not. */
  armAudiences(): string[] {
    return [...ARM_AUDIENCES, EMULATOR_ARM_AUDIENCE];
  }
}
