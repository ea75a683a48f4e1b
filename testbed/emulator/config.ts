/**
 * The emulator's start-up configuration, written as JSON by the bed (testbed/bed.ts) and read by
 * testbed/emulator/main.ts (`node build/testbed/emulator/main.js --config <file>`).
 *
 * When every listener is up the emulator prints one line to stdout: `READY <json>` where json = { pid }.
 * Ports are chosen by the bed beforehand (all on 127.0.0.1), so registries and emulator can start in parallel.
 */

import type { AzureDevOpsConfig } from './azure-devops.js';

export interface EmulatorConfig {
  /** PEM server certificate (SAN IP:127.0.0.1, DNS:localhost) and key, issued by the bed's CA. */
  tls: { certFile: string; keyFile: string; caFile: string };

  ports: {
    /** GitHub Actions OIDC token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL) and its issuer metadata/JWKS. */
    oidc: number;
    /** Entra ID: /{tenant}/v2.0/.well-known/openid-configuration, keys, /{tenant}/oauth2/v2.0/token; also /msi/token. */
    entra: number;
    /** Azure Resource Manager. */
    arm: number;
    /** Docker-Hub-like token server (the `hub` registry's realm). */
    hubAuth: number;
    /** Control API: faults, request log, issued secrets (never called by the action). */
    control: number;
  };

  github: {
    /** The bearer the runner gives (ACTIONS_ID_TOKEN_REQUEST_TOKEN). */
    requestToken: string;
    /** Default subject of issued ID tokens, e.g. `repo:acme/app:ref:refs/heads/main`. */
    subject: string;
    repository: string;
  };

  tenants: string[];

  principals: {
    name: string;
    clientId: string;
    tenantId: string;
    objectId: string;
    clientSecret?: string;
    /**
     * Federated credentials: issuer defaults to the emulator's GitHub OIDC issuer (or an Azure DevOps organization's,
     * `https://vstoken.dev.azure.com/<organization id>`); audiences default api://AzureADTokenExchange.
     */
    federated: { subject: string; audiences: string[]; issuer?: string }[];
    /** PEM certificates uploaded to the app (certificate credentials, private_key_jwt). */
    certificates?: string[];
    /** Issued for the managed identity endpoint (only one principal should have it). */
    managedIdentity?: boolean;
  }[];

  subscriptions: { id: string; tenantId: string; displayName: string }[];

  registries: {
    name: string;
    subscriptionId: string;
    resourceGroup: string;
    location: string;
    /** Port of the emulator's HTTPS data-plane listener; loginServer = `127.0.0.1:<port>`. */
    port: number;
    /** Plain-HTTP URL of the backing docker-registry (no auth). */
    backendUrl: string;
    /** The backing registry's filesystem storage: the referrers API is computed from it (absent: not served). */
    storageDir?: string;
    publicNetworkAccess: boolean;
    exportPolicyEnabled: boolean;
    /** azureADAuthenticationAsArmPolicy: ARM-audience tokens accepted at /oauth2/exchange. */
    armTokenAuth: boolean;
    sku: 'Basic' | 'Standard' | 'Premium' | 'Classic';
  }[];

  /**
   * Role assignments. role: 'importer' = Container Registry Data Importer and Data Reader (importImage/action,
   * registries/read, pull/read); 'reader' = registries/read only; 'pull' = AcrPull; 'push' = AcrPush; 'contributor'.
   * scope: a registry's resource ID, a resource group ID or a subscription ID (`/subscriptions/<id>`).
   */
  roleAssignments: {
    principal: string;
    role: 'importer' | 'reader' | 'pull' | 'push' | 'contributor';
    scope: string;
  }[];

  /** The Docker-Hub-like registry behind `hubAuth`. */
  hub: {
    /** `service` value in the challenge and in tokens. */
    service: string;
    /** `iss` of registry tokens (must equal the registry config's auth.token.issuer). */
    issuer: string;
    /** PEM key + cert (cert is in the registry's rootcertbundle); tokens carry the cert in the `x5c` header. */
    signingKeyFile: string;
    signingCertFile: string;
    /** Accounts allowed authenticated pulls (and pushes, for seeding) via Basic at the realm. */
    accounts: { username: string; password: string; push: boolean }[];
  };

  /** Default fault settings at start (see types.ts Faults). */
  retryAfterSeconds: number;

  /**
   * The secret App Service managed identity clients send as `X-IDENTITY-HEADER` (the bed's IDENTITY_HEADER).
   * Optional; defaults to `github.requestToken`.
   */
  managedIdentityHeader?: string;

  /** Azure DevOps (a pipeline job's OIDC token endpoint for its service connections), on its own port. */
  azureDevOps?: AzureDevOpsConfig;
}
