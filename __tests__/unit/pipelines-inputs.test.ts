/**
 * The task's inputs as the shared host runner will read them (src/hosts/pipelines/inputs.ts): by action name, from
 * INPUT_<KEY> and the service connection; and the Pipelines wording of the engine's hints.
 */
import { INPUTS, parseConfig } from '../../src/engine/index.js';
import { taskInputLabel, taskInputs } from '../../src/hosts/pipelines/inputs.js';
import { readServiceConnection } from '../../src/hosts/pipelines/service-connection.js';
import { PIPELINES_WORDING } from '../../src/hosts/pipelines/wording.js';
import { agentEnv, type ServiceConnectionSpec } from '../../testbed/agent-env.js';

const ID = '2c1a7e9f-5b3d-4c8e-9f0a-1b2c3d4e5f60';
const TENANT = '11111111-2222-4333-8444-555555555555';
const CLIENT = '66666666-7777-4888-9999-000000000000';
const SUB = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const OTHER_SUB = 'bbbbbbbb-bbbb-4ccc-8ddd-eeeeeeeeeeee';

const spec: ServiceConnectionSpec = {
  id: ID,
  url: 'https://management.usgovcloudapi.net/',
  scheme: 'WorkloadIdentityFederation',
  parameters: { serviceprincipalid: CLIENT, tenantid: TENANT },
  data: { subscriptionId: SUB, environment: 'AzureUSGovernment' },
};

function setup(inputs: Record<string, string>) {
  const env = agentEnv({
    inputs: { azureSubscription: ID, ...inputs },
    connections: [spec],
    accessToken: 't',
    oidcRequestUri: 'https://dev.azure.com/x/oidctoken',
    workFolder: '/agent/_work',
  });
  return { env, inputs: taskInputs(env, readServiceConnection(env)) };
}

it('reads task inputs by action name and the sign-in inputs from the connection', () => {
  const { inputs } = setup({
    registry: 'myacr',
    targetTags: 'app:1\napp:latest',
    dryRun: 'true',
    source: 'docker.io/library/nginx:1.27',
  });
  expect(inputs.input('registry')).toBe('myacr');
  expect(inputs.input('target-tags')).toBe('app:1\napp:latest');
  expect(inputs.input('dry-run')).toBe('true');
  expect(inputs.input('tenant-id')).toBe(TENANT);
  expect(inputs.input('client-id')).toBe(CLIENT);
  expect(inputs.input('subscription-id')).toBe(SUB);
  expect(inputs.input('environment')).toBe('AzureUSGovernment');
  expect(inputs.input('auth')).toBe('');
  expect(inputs.input('client-secret')).toBe('');
  const raw = Object.fromEntries(Object.values(INPUTS).map((n) => [n, inputs.input(n)]));
  const config = parseConfig(raw);
  expect(config).toMatchObject({ subscriptionId: SUB, tenantId: TENANT, clientId: CLIENT, dryRun: true });
  expect(config.cloud.name).toBe('AzureUSGovernment');
});

it("lets subscriptionId override the connection's subscription", () => {
  expect(setup({ subscriptionId: OTHER_SUB }).inputs.input('subscription-id')).toBe(OTHER_SUB);
  expect(setup({ subscriptionId: '  ' }).inputs.input('subscription-id')).toBe(SUB);
});

it('does not read sign-in inputs a pipeline sets by hand', () => {
  const { inputs } = setup({ clientId: 'not-used', tenantId: 'not-used', clientSecret: 'x' });
  expect(inputs.input('client-id')).toBe(CLIENT);
  expect(inputs.input('client-secret')).toBe('');
  // They are reported as unknown inputs by the runner: not task inputs.
  expect(inputs.given).toEqual(expect.arrayContaining(['clientid', 'tenantid', 'clientsecret']));
});

it('lists the given inputs by action name (unknown ones lower-cased), without the connection', () => {
  const { inputs } = setup({ registry: 'r', maxParallel: '4', targetTag: 'typo' });
  expect(inputs.given.sort()).toEqual(['max-parallel', 'registry', 'targettag']);
});

it('resolves user paths against System.DefaultWorkingDirectory', () => {
  const { inputs } = setup({});
  expect(inputs.resolvePath('images.yaml')).toBe('/agent/_work/1/s/images.yaml');
  expect(inputs.files.root).toBe('/agent/_work/1/s');
});

it('fails a misspelt task input and only warns about other INPUT_* variables', () => {
  const { inputs } = setup({ registry: 'r', targetTag: 'typo', somethingElse: 'x' });
  const checked = inputs.checkGiven();
  expect(checked.problems.map((p) => p.input)).toEqual(['targettag']);
  expect(checked.problems[0]?.message).toContain('targetTags');
  expect(checked.warnings.join(' ')).toContain('SOMETHINGELSE');
  expect(JSON.stringify(checked)).not.toContain('typo');
  // In the task's words, not a workflow's: no with: block or action.yml.
  expect(checked.problems[0]?.message).toContain("Rename it in the step's inputs: block");
  expect(checked.warnings.join(' ')).toContain('task.json');
  expect(JSON.stringify(checked)).not.toMatch(/with: |action\.yml/);
});

it('names inputs and settings the way a pipeline author writes them', () => {
  expect(taskInputLabel('target-tags')).toBe('targetTags');
  expect(taskInputLabel('source-registry-resource-id')).toBe('sourceRegistryResourceId');
  expect(PIPELINES_WORDING.setInput('force', 'true')).toBe('force: true');
  expect(PIPELINES_WORDING.secretFrom('source-password')).toContain('sourcePassword: $(sourcePassword)');
  expect(PIPELINES_WORDING.idTokenSetup).toContain('azureSubscription');
  expect(PIPELINES_WORDING.idTokenSetup).not.toContain('id-token: write');
});
