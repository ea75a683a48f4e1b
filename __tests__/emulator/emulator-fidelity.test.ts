/**
 * The emulator as strict as Azure where issue 10 found it lenient: Entra knows no resource named after the ARM URL
 * (AADSTS500011), ARM takes only tokens for one of its audiences, and ARM describes its cloud at /metadata/endpoints
 * in both forms (the `armMetadata` switch plays an older cloud). ARM answers carry the client's request id back.
 */
import type { StartedBed } from '../../testbed/bed.js';
import { EMULATOR_ARM_AUDIENCE } from '../../testbed/emulator/state.js';
import { useBed } from '../bed-hooks.js';
import { API, entraToken, FORM, httpClient, type Client } from './emulator-helpers.js';

let bed: StartedBed;
let client: Client;

useBed((started) => {
  bed = started;
  client = httpClient(bed.caPem);
});
afterAll(async () => {
  await client?.close();
});

const tokenRequest = (scope: string): Promise<{ status: number; json: () => unknown }> =>
  client.request(`${bed.entra.authorityHost}/${bed.tenants.main}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: bed.principals.deployer.clientId,
      client_secret: bed.principals.deployer.clientSecret ?? '',
      scope,
    }).toString(),
  });

describe('Entra and ARM audiences', () => {
  it.each([
    ['the ARM URL', () => `${bed.arm.endpoint}/.default`],
    ['another loopback URL', () => 'https://127.0.0.1:1/.default'],
  ])('Entra refuses a scope for %s with AADSTS500011', async (_name, scope) => {
    const reply = await tokenRequest(scope());
    expect(reply.status).toBe(400);
    const body = reply.json() as { error: string; error_description: string; error_codes: number[] };
    expect(body.error).toBe('invalid_resource');
    expect(body.error_codes).toEqual([500011]);
    expect(body.error_description).toMatch(/^AADSTS500011: The resource principal named .+ was not found/);
  });

  it('ARM refuses a token for another audience (the ACR one), and takes its own', async () => {
    const acr = await entraToken(bed, client, {
      scope: 'https://containerregistry.azure.net/.default',
      secret: true,
    });
    const own = await entraToken(bed, client, { scope: `${EMULATOR_ARM_AUDIENCE}/.default`, secret: true });
    const url = `${bed.arm.endpoint}${bed.acrs.target.resourceId}?${API}`;
    const refused = await client.request(url, { headers: { authorization: `Bearer ${acr}` } });
    expect(refused.status).toBe(401);
    expect((refused.json() as { error: { message: string } }).error.message).toContain('wrong audience');
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const taken = await client.request(url, {
      headers: { authorization: `Bearer ${own}`, 'x-ms-client-request-id': id },
    });
    expect(taken.status).toBe(200);
    expect(taken.headers['x-ms-client-request-id']).toBe(id);
    const [logged] = (await bed.control.requests({ service: 'arm' })).filter(
      (e) => e.headers['x-ms-client-request-id'] === id,
    );
    expect(logged?.responseIds?.['x-ms-correlation-request-id']).toBe(
      taken.headers['x-ms-correlation-request-id'],
    );
  });
});

describe('GET /metadata/endpoints (anonymous)', () => {
  const metadata = (version: string): Promise<{ status: number; json: () => unknown }> =>
    client.request(`${bed.arm.endpoint}/metadata/endpoints?api-version=${version}`);

  it('lists every cloud in the array form, the emulator cloud with its audience and login endpoint', async () => {
    const reply = await metadata('2022-09-01');
    expect(reply.status).toBe(200);
    const clouds = reply.json() as { name: string; resourceManager: string; authentication: unknown }[];
    expect(clouds.length).toBeGreaterThan(1);
    expect(clouds.find((c) => c.resourceManager === `${bed.arm.endpoint}/`)?.authentication).toMatchObject({
      loginEndpoint: `${bed.entra.authorityHost}/`,
      audiences: [EMULATOR_ARM_AUDIENCE],
    });
  });

  it('answers the 2015-01-01 object form, and as an older cloud refuses newer versions', async () => {
    const old = await metadata('2015-01-01');
    expect(old.status).toBe(200);
    expect(old.json()).toMatchObject({ authentication: { audiences: [EMULATOR_ARM_AUDIENCE] } });
    await bed.control.setFaults({ armMetadata: 'legacy' });
    const refused = await metadata('2022-09-01');
    expect(refused.status).toBe(400);
    expect((refused.json() as { error: { code: string } }).error.code).toBe('InvalidApiVersionParameter');
    expect((await metadata('2015-01-01')).status).toBe(200);
  });
});
