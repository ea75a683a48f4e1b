/** The Azure clouds: each one's endpoints and token scopes, and the authority hosts MSAL knows. */

export type CloudName = 'AzureCloud' | 'AzureUSGovernment' | 'AzureChinaCloud';

/** Endpoints and token scopes of one Azure cloud. URLs have no trailing slash. */
export interface CloudSettings {
  readonly name: CloudName;
  /** ARM endpoint, e.g. `https://management.azure.com`. */
  readonly armEndpoint: string;
  /** Entra authority host, e.g. `https://login.microsoftonline.com`. */
  readonly authorityHost: string;
  /** Scope of the ARM token, e.g. `https://management.azure.com/.default`. */
  readonly armScope: string;
  /** Scope of an Entra token for the ACR data plane. */
  readonly acrScope: string;
  /** Login server suffix of the cloud's registries, e.g. `.azurecr.io` (for messages; never used to build a host). */
  readonly loginSuffix: string;
  /** True for a non-Microsoft authority host: MSAL must not ask the public cloud to discover it. */
  readonly disableInstanceDiscovery: boolean;
  /**
   * Set with resource-manager-endpoint: the token audience (and, unless `authorityGiven`, the authority) are read
   * from that ARM's `/metadata/endpoints` at the start of each run (cloud.ts), since a custom cloud's ARM audience is
   * not its URL.
   */
  readonly discoverMetadata?: boolean;
  /** authority-host was given: it wins over the loginEndpoint of the cloud metadata. */
  readonly authorityGiven?: boolean;
}

const ACR_SCOPE = 'https://containerregistry.azure.net/.default';

export const CLOUDS: Readonly<Record<CloudName, CloudSettings>> = {
  AzureCloud: {
    name: 'AzureCloud',
    armEndpoint: 'https://management.azure.com',
    authorityHost: 'https://login.microsoftonline.com',
    armScope: 'https://management.azure.com/.default',
    acrScope: ACR_SCOPE,
    loginSuffix: '.azurecr.io',
    disableInstanceDiscovery: false,
  },
  AzureUSGovernment: {
    name: 'AzureUSGovernment',
    armEndpoint: 'https://management.usgovcloudapi.net',
    authorityHost: 'https://login.microsoftonline.us',
    armScope: 'https://management.usgovcloudapi.net/.default',
    acrScope: ACR_SCOPE,
    loginSuffix: '.azurecr.us',
    disableInstanceDiscovery: false,
  },
  AzureChinaCloud: {
    name: 'AzureChinaCloud',
    armEndpoint: 'https://management.chinacloudapi.cn',
    authorityHost: 'https://login.chinacloudapi.cn',
    armScope: 'https://management.chinacloudapi.cn/.default',
    acrScope: ACR_SCOPE,
    loginSuffix: '.azurecr.cn',
    disableInstanceDiscovery: false,
  },
};

/** Authority hosts MSAL knows without asking the network. Any other host disables instance discovery. */
export const MICROSOFT_AUTHORITY_HOSTS: ReadonlySet<string> = new Set([
  'login.microsoftonline.com',
  'login.windows.net',
  'login.microsoft.com',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
  'login.microsoftonline.us',
  'login.usgovcloudapi.net',
  'login.microsoftonline.de',
  'login-us.microsoftonline.com',
]);
