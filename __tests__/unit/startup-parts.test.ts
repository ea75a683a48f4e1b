/**
 * Issue 11's startup parts, one by one: the Action's own runner interface (what @actions/core wrote for the same
 * calls: inputs, masks, outputs, summary, failure), the workflow-run subtitle from GITHUB_* variables (what
 * @actions/github's context gave), `requestOnTheWire`, which holds back loading @azure/identity until a request
 * is written (or a short fallback passes), and the tenant's OpenID configuration fetched ahead of MSAL.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as commands from '../../src/hosts/action/commands.js';
import { summarySubtitle } from '../../src/hosts/action/main.js';
import { createUndiciTransport } from '../../src/engine/index.js';
import { HttpClient } from '../../src/engine/net/http.js';
import { failureRecorder, identityHttpClient } from '../../src/engine/net/identity-http.js';
import { requestOnTheWire } from '../../src/engine/net/undici-parts.js';
import { parseCommandFile } from '../../testbed/run-action.js';
import { FakeClock, fakeTransport, MemoryLogger, respond } from './fakes.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'startup-parts-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What `fn` writes to stdout. */
function stdoutOf(fn: () => void): string {
  const chunks: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    fn();
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

describe('the Action runner interface', () => {
  it('reads an input as INPUT_<NAME> (spaces as _, upper case), trimmed; missing is empty', () => {
    const env = { 'INPUT_TARGET-TAGS': '  app:1 \n', INPUT_MY_INPUT: 'x' };
    expect(commands.getInput('target-tags', env)).toBe('app:1');
    expect(commands.getInput('my input', env)).toBe('x');
    expect(commands.getInput('registry', env)).toBe('');
  });

  it('masks and logs with escaped data, so a line break cannot end a command early', () => {
    expect(stdoutOf(() => commands.setSecret('a%b\r\nc'))).toBe('::add-mask::a%25b%0D%0Ac\n');
    expect(stdoutOf(() => commands.warning('two\nlines'))).toBe('::warning::two%0Alines\n');
    expect(stdoutOf(() => commands.debug('d'))).toBe('::debug::d\n');
    expect(stdoutOf(() => commands.info('plain'))).toBe('plain\n');
  });

  it('writes outputs the runner reads back (multi-line values included), once per name', async () => {
    const file = join(dir, 'output');
    await writeFile(file, '');
    const env = { GITHUB_OUTPUT: file };
    commands.setOutput('digest', 'sha256:abc', env);
    commands.setOutput('results', '{\n  "a": 1\n}', env);
    expect(parseCommandFile(await readFile(file, 'utf8'))).toEqual({
      digest: 'sha256:abc',
      results: '{\n  "a": 1\n}',
    });
  });

  it('without GITHUB_OUTPUT falls back to the set-output command', () => {
    expect(stdoutOf(() => commands.setOutput('digest', 'x\ny', {}))).toBe(
      '\n::set-output name=digest::x%0Ay\n',
    );
  });

  it('appends to the job summary, and says why when there is none', async () => {
    const file = join(dir, 'summary');
    await writeFile(file, 'before\n');
    await commands.appendSummary('## done', { GITHUB_STEP_SUMMARY: file });
    expect(await readFile(file, 'utf8')).toBe('before\n## done\n');
    await expect(commands.appendSummary('x', {})).rejects.toThrow(/GITHUB_STEP_SUMMARY is not set/);
    await expect(commands.appendSummary('x', { GITHUB_STEP_SUMMARY: dir + '/missing' })).rejects.toThrow(
      /cannot be read and written/,
    );
  });

  it('fails the step with an error annotation and exit code 1', () => {
    const before = process.exitCode;
    try {
      expect(stdoutOf(() => commands.setFailed('All 2 images failed:\n- x'))).toBe(
        '::error::All 2 images failed:%0A- x\n',
      );
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = before;
    }
  });

  it('names the workflow run from GITHUB_* variables, nothing outside a workflow run', async () => {
    const run = {
      GITHUB_REPOSITORY: 'acme/app',
      GITHUB_RUN_ID: '123456',
      GITHUB_WORKFLOW: 'deploy',
      GITHUB_RUN_NUMBER: '42',
    };
    expect(await summarySubtitle(run)).toBe('acme/app · deploy #42');
    expect(await summarySubtitle({ ...run, GITHUB_RUN_ID: undefined })).toBeUndefined();
    expect(await summarySubtitle({ ...run, GITHUB_REPOSITORY: undefined })).toBeUndefined();
  });
});

describe('requestOnTheWire', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      // Answers late: the wait ends when the request is written, not when it is answered.
      setTimeout(() => res.end('ok'), 300);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('ends after the fallback when no request is sent, then once a request is written, before its answer', async () => {
    let started = performance.now();
    await requestOnTheWire(80);
    expect(performance.now() - started).toBeGreaterThanOrEqual(70);

    const { transport, close } = createUndiciTransport({ userAgent: 'startup-parts-test' });
    try {
      started = performance.now();
      const answer = transport({ method: 'GET', url: `${origin}/slow` });
      await requestOnTheWire(5_000);
      const waited = performance.now() - started;
      expect(waited).toBeLessThan(250);
      expect((await answer).body.toString()).toBe('ok');
      // Once one was written, later calls end at once.
      started = performance.now();
      await requestOnTheWire(5_000);
      expect(performance.now() - started).toBeLessThan(20);
    } finally {
      await close();
    }
  });
});

describe("the tenant's OpenID configuration, fetched ahead", () => {
  const AUTHORITY = 'https://login.example.test';
  const TENANT = '11111111-2222-4333-8444-555555555555';
  const DISCOVERY = `${AUTHORITY}/${TENANT}/v2.0/.well-known/openid-configuration`;
  const pipelineRequest = (
    url: string,
  ): Parameters<ReturnType<typeof identityHttpClient>['sendRequest']>[0] =>
    ({
      method: 'GET',
      url,
      headers: { toJSON: () => ({ 'x-client-sku': 'msal.js.node' }) },
    }) as unknown as Parameters<ReturnType<typeof identityHttpClient>['sendRequest']>[0];

  it('is asked for at once, and answers the library from that one answer', async () => {
    const transport = fakeTransport((req) =>
      req.url === DISCOVERY ? respond(200, { issuer: `${AUTHORITY}/${TENANT}/v2.0` }) : respond(404),
    );
    const client = identityHttpClient(
      new HttpClient(transport, new FakeClock(), new MemoryLogger()),
      AUTHORITY,
      failureRecorder(),
      TENANT,
    );
    // Sent before the library asks.
    await new Promise((resolve) => setImmediate(resolve));
    expect(transport.requests.map((r) => `${r.method} ${r.url}`)).toEqual([`GET ${DISCOVERY}`]);
    const [a, b] = await Promise.all([
      client.sendRequest(pipelineRequest(DISCOVERY)),
      client.sendRequest(pipelineRequest(DISCOVERY)),
    ]);
    expect(JSON.parse(a.bodyAsText ?? '')).toEqual({ issuer: `${AUTHORITY}/${TENANT}/v2.0` });
    expect(b.status).toBe(200);
    expect(transport.requests).toHaveLength(1);
  });

  it('lets the library send its own request when the early answer was not a 200', async () => {
    let calls = 0;
    const transport = fakeTransport(() => (++calls === 1 ? respond(503) : respond(200, { issuer: 'x' })));
    const client = identityHttpClient(
      new HttpClient(transport, new FakeClock(), new MemoryLogger()),
      `${AUTHORITY}/`,
      failureRecorder(),
      TENANT,
    );
    const res = await client.sendRequest(pipelineRequest(DISCOVERY));
    expect(res.status).toBe(200);
    expect(transport.requests.map((r) => r.url)).toEqual([DISCOVERY, DISCOVERY]);
  });
});
