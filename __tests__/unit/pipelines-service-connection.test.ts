/**
 * Reading the Azure Resource Manager service connection from the agent's environment
 * (src/hosts/pipelines/service-connection.ts), with environments built by testbed/agent-env.ts: every scheme, the
 * clouds, case-insensitive keys, and the errors (in Azure DevOps terms) before any network call.
 */
import { AuthError, InputError, parseConfig } from '../../src/engine/index.js';
import {
  agentSecrets,
  engineInputs,
  readServiceConnection,
  type ServiceConnection,
} from '../../src/hosts/pipelines/service-connection.js';
import { describeSignInError, roleHint } from '../../src/hosts/pipelines/connection-credential.js';
import { agentEnv, type ServiceConnectionSpec } from '../../testbed/agent-env.js';

const ID = '2c1a7e9f-5b3d-4c8e-9f0a-1b2c3d4e5f60';
const TENANT = '11111111-2222-4333-8444-555555555555';
const CLIENT = '66666666-7777-4888-9999-000000000000';
const SUB = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const TOKEN = 'job-access-token';
const OIDC = 'https://dev.azure.com/acme/0000/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken';

function connection(overrides: Partial<ServiceConnectionSpec> = {}): ServiceConnectionSpec {
  return {
    id: ID,
    url: 'https://management.azure.com/',
    scheme: 'WorkloadIdentityFederation',
    parameters: { serviceprincipalid: CLIENT, tenantid: TENANT },
    data: { subscriptionId: SUB, subscriptionName: 'Prod', environment: 'AzureCloud' },
    ...overrides,
  };
}

function env(spec: ServiceConnectionSpec | null = connection(), extra: Record<string, string> = {}) {
  return {
    ...agentEnv({
      inputs: { azureSubscription: ID, registry: 'myacr' },
      connections: spec ? [spec] : [],
      accessToken: TOKEN,
      oidcRequestUri: OIDC,
      workFolder: '/agent/_work',
    }),
    ...extra,
  };
}

function readError(e: Record<string, string | undefined>): AuthError | InputError {
  try {
    readServiceConnection(e);
  } catch (err) {
    if (err instanceof AuthError || err instanceof InputError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('agentEnv', () => {
  it('names variables as the agent does', () => {
    const e = agentEnv({
      inputs: { azureSubscription: ID, 'my.input name': 'x' },
      connections: [connection()],
      accessToken: TOKEN,
      oidcRequestUri: OIDC,
      workFolder: '/w',
    });
    expect(e).toMatchObject({
      INPUT_AZURESUBSCRIPTION: ID,
      INPUT_MY_INPUT_NAME: 'x',
      [`ENDPOINT_URL_${ID}`]: 'https://management.azure.com/',
      [`ENDPOINT_AUTH_SCHEME_${ID}`]: 'WorkloadIdentityFederation',
      [`ENDPOINT_AUTH_PARAMETER_${ID}_SERVICEPRINCIPALID`]: CLIENT,
      [`ENDPOINT_DATA_${ID}_SUBSCRIPTIONID`]: SUB,
      SYSTEM_OIDCREQUESTURI: OIDC,
      AGENT_TEMPDIRECTORY: '/w/_temp',
    });
    expect(JSON.parse(e[`ENDPOINT_AUTH_${ID}`] ?? '')).toEqual({
      parameters: { serviceprincipalid: CLIENT, tenantid: TENANT },
      scheme: 'WorkloadIdentityFederation',
    });
    expect(JSON.parse(e['ENDPOINT_AUTH_SYSTEMVSSCONNECTION'] ?? '')).toEqual({
      parameters: { AccessToken: TOKEN },
      scheme: 'OAuth',
    });
  });
});

describe('readServiceConnection', () => {
  it('reads a workload identity federation connection', () => {
    const c = readServiceConnection(env());
    expect(c).toMatchObject({
      id: ID,
      scheme: 'WorkloadIdentityFederation',
      tenantId: TENANT,
      clientId: CLIENT,
      subscriptionId: SUB,
      subscriptionName: 'Prod',
      environment: 'AzureCloud',
      accessToken: TOKEN,
      oidcRequestUri: OIDC,
    });
    expect(c.secrets).toEqual([TOKEN]);
    expect(c.endpoints).toBeUndefined();
  });

  it.each([
    ['spnKey', { authenticationType: 'spnKey', serviceprincipalkey: 'k3y' }, { kind: 'key', key: 'k3y' }],
    [
      'spnCertificate',
      { authenticationType: 'spnCertificate', servicePrincipalCertificate: 'PEM' },
      { kind: 'certificate', pem: 'PEM' },
    ],
    ['no authenticationType (a key)', { serviceprincipalkey: 'k3y' }, { kind: 'key', key: 'k3y' }],
  ])('reads a ServicePrincipal connection: %s', (_name, params, secret) => {
    const c = readServiceConnection(
      env(
        connection({
          scheme: 'ServicePrincipal',
          parameters: { serviceprincipalid: CLIENT, tenantid: TENANT, ...params },
        }),
      ),
    );
    expect(c).toMatchObject({ scheme: 'ServicePrincipal', clientId: CLIENT, tenantId: TENANT, secret });
    expect(c.secrets).toEqual([secret.kind === 'key' ? 'k3y' : 'PEM']);
    expect(c.accessToken).toBeUndefined();
  });

  it('reads a connection without a scheme as ServicePrincipal (the oldest connections)', () => {
    const spec = connection({
      scheme: undefined,
      parameters: { serviceprincipalid: CLIENT, tenantid: TENANT, serviceprincipalkey: 'k3y' },
    });
    expect(readServiceConnection(env(spec)).scheme).toBe('ServicePrincipal');
  });

  it('reads a managed identity connection, user-assigned by its msiClientId', () => {
    const c = readServiceConnection(
      env(
        connection({
          scheme: 'ManagedServiceIdentity',
          parameters: { tenantid: TENANT },
          data: { subscriptionId: SUB, msiClientId: CLIENT },
        }),
      ),
    );
    expect(c).toMatchObject({ scheme: 'ManagedServiceIdentity', clientId: CLIENT, tenantId: TENANT });
    expect(engineInputs(c)['client-id']).toBeUndefined();
  });

  it('finds keys in any case, and the parameters in ENDPOINT_AUTH_<id> alone', () => {
    const e: Record<string, string> = {
      INPUT_AZURESUBSCRIPTION: ID,
      [`endpoint_url_${ID}`]: 'https://management.azure.com/',
      [`ENDPOINT_AUTH_${ID}`]: JSON.stringify({
        parameters: { ServicePrincipalId: CLIENT, TenantId: TENANT, ServicePrincipalKey: 'k3y' },
        scheme: 'serviceprincipal',
      }),
      [`Endpoint_Data_${ID}_SubscriptionId`]: SUB,
    };
    expect(readServiceConnection(e)).toMatchObject({
      scheme: 'ServicePrincipal',
      clientId: CLIENT,
      tenantId: TENANT,
      subscriptionId: SUB,
      secret: { kind: 'key', key: 'k3y' },
    });
  });

  it('takes the alias input connectedServiceNameARM', () => {
    const e = env();
    delete e['INPUT_AZURESUBSCRIPTION'];
    e['INPUT_CONNECTEDSERVICENAMEARM'] = ID;
    expect(readServiceConnection(e).id).toBe(ID);
  });

  it.each([
    ['AzureCloud', 'AzureCloud', 'https://management.azure.com', 'https://login.microsoftonline.com'],
    [
      'AzureUSGovernment',
      'AzureUSGovernment',
      'https://management.usgovcloudapi.net',
      'https://login.microsoftonline.us',
    ],
    [
      'azurechinacloud',
      'AzureChinaCloud',
      'https://management.chinacloudapi.cn',
      'https://login.chinacloudapi.cn',
    ],
    ['(none)', 'AzureCloud', 'https://management.azure.com', 'https://login.microsoftonline.com'],
  ])('maps environment %s to the engine cloud %s', (environment, cloud, arm, authority) => {
    const data: Record<string, string> = { subscriptionId: SUB };
    if (environment !== '(none)') data['environment'] = environment;
    const c = readServiceConnection(env(connection({ data })));
    const config = parseConfig({
      registry: 'myacr',
      source: 'docker.io/library/nginx:1.27',
      ...engineInputs(c),
    });
    expect(config.cloud).toMatchObject({ name: cloud, armEndpoint: arm, authorityHost: authority });
    expect(config.subscriptionId).toBe(SUB);
    expect(config.tenantId).toBe(TENANT);
    expect(config.clientId).toBe(CLIENT);
  });

  it.each(['AzureStack', 'MyPrivateCloud'])(
    'takes the ARM URL and authority of an %s connection from the endpoint',
    (environment) => {
      const c = readServiceConnection(
        env(
          connection({
            url: 'https://management.local.azurestack.external/',
            data: {
              subscriptionId: SUB,
              environment,
              activeDirectoryAuthority: 'https://adfs.local.azurestack.external/adfs/',
            },
          }),
        ),
      );
      expect(c.endpoints).toEqual({
        resourceManager: 'https://management.local.azurestack.external',
        authorityHost: 'https://adfs.local.azurestack.external/adfs',
      });
      const config = parseConfig({
        registry: 'myacr',
        source: 'docker.io/library/nginx:1.27',
        ...engineInputs(c),
      });
      // The authority and token audience are read from the ARM's /metadata/endpoints at run time (the connection's
      // authority must agree with it: checkCustomCloudAuthority), so no authority-host is passed on.
      expect(config.cloud).toMatchObject({
        armEndpoint: 'https://management.local.azurestack.external',
        discoverMetadata: true,
      });
      expect(config.cloud.authorityGiven).toBeUndefined();
    },
  );

  it('lists every secret of the environment for masking before anything is printed', () => {
    const spec = connection({
      scheme: 'ServicePrincipal',
      parameters: { serviceprincipalid: CLIENT, tenantid: TENANT, serviceprincipalkey: 'k3y' },
    });
    expect(agentSecrets(env(spec)).sort()).toEqual([TOKEN, 'k3y'].sort());
  });
});

describe('readServiceConnection errors', () => {
  it('names the input when it is empty', () => {
    const e = env();
    e['INPUT_AZURESUBSCRIPTION'] = ' ';
    const error = readError(e);
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toContain('azureSubscription');
  });

  it('says a script step cannot use the connection when the agent did not hand it over', () => {
    const error = readError(env(null));
    expect(error).toBeInstanceOf(AuthError);
    expect(error.message).toContain(`Service connection '${ID}'`);
    expect(error.hint).toContain('a `script:` step');
    expect(error.hint).toContain('AcrImport@1');
  });

  it.each(['PublishProfile', 'UsernamePassword', 'Certificate'])(
    'names the scheme %s it cannot use',
    (scheme) => {
      const error = readError(env(connection({ scheme })));
      expect(error).toBeInstanceOf(AuthError);
      expect(error.message).toContain(`'${scheme}'`);
      expect(error.hint).toContain('workload identity federation');
    },
  );

  it.each([
    ['tenant', { serviceprincipalid: CLIENT }, 'TENANTID'],
    ['client', { tenantid: TENANT }, 'SERVICEPRINCIPALID'],
  ])('names a missing %s parameter', (_what, parameters, key) => {
    expect(readError(env(connection({ parameters }))).message).toContain(key);
  });

  it('names a missing secret or certificate, and an unknown authentication type', () => {
    const sp = (params: Record<string, string>): ServiceConnectionSpec =>
      connection({
        scheme: 'ServicePrincipal',
        parameters: { serviceprincipalid: CLIENT, tenantid: TENANT, ...params },
      });
    expect(readError(env(sp({ authenticationType: 'spnKey' }))).message).toContain('SERVICEPRINCIPALKEY');
    expect(readError(env(sp({ authenticationType: 'spnCertificate' }))).message).toContain(
      'SERVICEPRINCIPALCERTIFICATE',
    );
    expect(readError(env(sp({ authenticationType: 'spnPassword' }))).message).toContain("'spnPassword'");
  });

  it('needs the job token and the OIDC request URI for workload identity federation', () => {
    const e = env();
    delete e['SYSTEM_OIDCREQUESTURI'];
    expect(readError(e).message).toContain('SYSTEM_OIDCREQUESTURI');
    const f = env();
    delete f['ENDPOINT_AUTH_SYSTEMVSSCONNECTION'];
    delete f['ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN'];
    expect(readError(f).message).toContain('job access token');
  });

  it('needs https endpoints for another cloud (the authority may be left to the ARM metadata)', () => {
    const data = { environment: 'AzureStack', subscriptionId: SUB };
    const error = readError(
      env(
        connection({ data: { ...data, activeDirectoryAuthority: 'http://adfs.local.azurestack.external/' } }),
      ),
    );
    expect(error.message).toContain('activeDirectoryAuthority');
    expect(readError(env(connection({ url: 'http://management.local/', data }))).message).toContain(
      'Azure Resource Manager URL',
    );
    expect(readServiceConnection(env(connection({ data }))).endpoints).toEqual({
      resourceManager: 'https://management.azure.com',
      authorityHost: undefined,
    });
  });
});

describe('sign-in errors in Azure DevOps terms', () => {
  const wif = (): ServiceConnection => readServiceConnection(env());
  it('names the federated subject to add when Entra refuses the assertion', () => {
    const error = describeSignInError(
      new Error(
        'AADSTS700213: No matching federated identity record found for presented assertion subject. Trace',
      ),
      wif(),
      {
        issuer: 'https://vstoken.dev.azure.com/org-guid',
        subject: 'sc://acme/app/acr-prod',
        audience: 'api://AzureADTokenExchange',
      },
      'https://management.azure.com/.default',
    );
    expect(error.message).toContain('AADSTS700213');
    expect(error.hint).toContain("subject 'sc://acme/app/acr-prod'");
    expect(error.hint).toContain('"issuer":"https://vstoken.dev.azure.com/org-guid"');
    expect(error.hint).toContain(`az ad app federated-credential create --id ${CLIENT}`);
  });

  it('tells to update the service connection for a bad secret', () => {
    const error = describeSignInError(
      new Error('AADSTS7000215: Invalid client secret provided.'),
      wif(),
      undefined,
      'scope',
    );
    expect(error.hint).toContain('update the service connection');
  });

  it("grants roles to the service connection's identity", () => {
    expect(
      roleHint(wif(), 'Container Registry Data Importer and Data Reader', '/subscriptions/s/x'),
    ).toContain(`to the service connection's identity (app ${CLIENT}`);
  });
});
