/**
 * Secrets and trust, through the bundle with step debug on (`ACTIONS_STEP_DEBUG=true`, `RUNNER_DEBUG=1`):
 *
 * - no known secret (every token the emulator issued, the client secrets, the registry passwords, the runner's request
 *   token, and the Basic headers made from them) appears in stdout, stderr, the outputs, the summary or an error,
 *   except inside the `::add-mask::` command that registers it; every credential the action sent anywhere was
 *   masked, and the secret inputs were masked before anything else was printed;
 * - credentials go only where they belong, with the emulator's request log (and the fault fronts' logs) as witness;
 *   a redirect to another host carries none of them;
 * - text from users and remote services reaches the summary and the annotations escaped.
 *
 * The scenarios run once (beforeAll); each `it` checks one property over all of them.
 */
import { readFileSync } from 'node:fs';
import { startBed, type StartedBed } from '../../testbed/bed.js';
import { startFaultFront, type FaultFront, type FrontRequest } from '../../testbed/fault-front.js';
import { runAction, type ActionRun } from '../../testbed/run-action.js';
import type { Faults, LoggedRequest } from '../../testbed/types.js';

const DEBUG = { ACTIONS_STEP_DEBUG: 'true', RUNNER_DEBUG: '1' };

/** An ARM error text made to break out of a Markdown cell, a link, an HTML context and a workflow command line. */
const HOSTILE_MESSAGE =
  'Operation registries-1 failed. <img src=x onerror=alert(1)> [click me](http://evil.example/x) **loud** | cell ' +
  '`tick` <script>alert(2)</script>\n::warning::injected-annotation\n::add-mask::not-a-secret Error copying blobs';

interface Scenario {
  name: string;
  inputs: (bed: StartedBed) => Record<string, string>;
  faults?: Faults;
  env?: Record<string, string | undefined>;
  /** Expected exit code. */
  exitCode: 0 | 1;
}

interface Outcome {
  scenario: Scenario;
  run: ActionRun;
  /** The emulator's request log of this run. */
  requests: LoggedRequest[];
  /** The fronts' logs of this run. */
  privateFront: FrontRequest[];
  cdn: FrontRequest[];
}

let bed: StartedBed;
let privateFront: FaultFront;
let cdn: FaultFront;
const outcomes: Outcome[] = [];

const scenarios: Scenario[] = [
  {
    name: 'OIDC, multi-arch image by tag from a Bearer-challenge registry',
    inputs: (b) => ({
      source: `${b.sources.hub.host}/library/hello:latest`,
      'target-tags': 'secrets/hello:1',
    }),
    exitCode: 0,
  },
  {
    name: 'client-secret sign-in, a tag with emphasis characters',
    inputs: (b) => ({
      auth: 'client-secret',
      'client-secret': b.principals.deployer.clientSecret!,
      source: `${b.sources.mcr.host}/azuredocs/aci-helloworld:latest`,
      'target-tags': 'secrets/aci:_v1_',
    }),
    env: { ACTIONS_ID_TOKEN_REQUEST_URL: undefined, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined },
    exitCode: 0,
  },
  {
    name: 'private registry with a password, whose manifests redirect to another host',
    inputs: (b) => ({
      source: `${privateFront.host}/team/tool:2.0`,
      'target-tags': 'secrets/tool:2.0',
      'source-username': b.sources.private.username!,
      'source-password': b.sources.private.password!,
    }),
    exitCode: 0,
  },
  {
    name: 'Docker-Hub-like registry with an account',
    inputs: (b) => ({
      source: `${b.sources.hub.host}/library/alpine:3.20`,
      'target-tags': 'secrets/alpine:3.20',
      'source-username': b.sources.hub.username!,
      'source-password': b.sources.hub.password!,
    }),
    exitCode: 0,
  },
  {
    name: 'ACR source in the subscription, read through its data plane',
    inputs: (b) => ({
      source: `${b.acrs.source.loginServer}/app/web:1.0`,
      'target-tags': 'secrets/web:1.0',
    }),
    exitCode: 0,
  },
  {
    name: 'a failed import whose error text is hostile',
    inputs: (b) => ({
      source: `${b.sources.hub.host}/library/debian:12`,
      'target-tags': 'secrets/debian:12',
    }),
    faults: { failImports: { count: 1, code: 'InvalidParameters', message: HOSTILE_MESSAGE } },
    exitCode: 1,
  },
  {
    name: 'a 403 for an identity without a role',
    inputs: (b) => ({
      'client-id': b.principals.reader.clientId,
      'resource-group': b.acrs.target.resourceGroup,
      source: `${b.sources.hub.host}/library/busybox:1.36`,
      'target-tags': 'secrets/busybox:1',
    }),
    exitCode: 1,
  },
];

beforeAll(async () => {
  // Reader on the subscription: what lets the action find a source ACR by its login server (AcrPull alone does not).
  bed = await startBed({
    retryAfterSeconds: 1,
    roleAssignments: (defaults, ids) => [
      ...defaults,
      { principal: 'deployer', role: 'reader', scope: `/subscriptions/${ids.subscriptions.main}` },
    ],
  });
  const tls = {
    cert: readFileSync(bed.pki.certFile, 'utf8'),
    key: readFileSync(bed.pki.keyFile, 'utf8'),
    ca: bed.caPem,
  };
  const priv = bed.sources.private;
  const basic = `Basic ${Buffer.from(`${priv.username}:${priv.password}`).toString('base64')}`;
  // The "CDN" serves the manifests with credentials of its own; the client's must never reach it.
  cdn = await startFaultFront({ upstream: priv.url, tls, authorization: () => basic });
  privateFront = await startFaultFront({ upstream: priv.url, tls });
  privateFront.add({
    method: 'HEAD',
    path: /\/manifests\//,
    when: (r) => r.headers['authorization'] !== undefined,
    redirectTo: cdn.url,
  });

  for (const scenario of scenarios) {
    await bed.control.reset();
    if (scenario.faults) await bed.control.setFaults(scenario.faults);
    const frontStart = privateFront.log.length;
    const cdnStart = cdn.log.length;
    const run = await runAction(
      bed,
      { ...bed.baseInputs(), ...scenario.inputs(bed) },
      { env: { ...DEBUG, ...scenario.env } },
    );
    outcomes.push({
      scenario,
      run,
      requests: await bed.control.requests(),
      privateFront: privateFront.log.slice(frontStart),
      cdn: cdn.log.slice(cdnStart),
    });
  }
}, 120_000);

afterAll(async () => {
  await privateFront?.close();
  await cdn?.close();
  await bed?.stop();
});

// ---------------------------------------------------------------------------------------------------------------------
// Knowing the secrets

type Kind = 'arm-token' | 'acr-audience-token' | 'acr-token' | 'id-token' | 'hub-token' | 'configured';

interface Secret {
  value: string;
  kind: Kind;
  /** For ACR tokens: the login server they were issued for. */
  audience?: string;
  label: string;
}

function claimsOf(jwt: string): Record<string, unknown> | undefined {
  const part = jwt.split('.')[1];
  if (!part) return undefined;
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Every secret of the bed: issued tokens classified by their claims, and the configured ones. */
async function knownSecrets(): Promise<Secret[]> {
  const configured = new Map<string, string>([
    [bed.principals.deployer.clientSecret!, 'client secret of deployer'],
    [bed.principals.reader.clientSecret!, 'client secret of reader'],
    [bed.principals.foreign.clientSecret!, 'client secret of foreign'],
    [bed.oidc.requestToken, 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'],
    [bed.sources.hub.password!, 'hub password'],
    [bed.sources.private.password!, 'private registry password'],
    [bed.managedIdentity.header, 'managed identity header'],
  ]);
  for (const source of [bed.sources.hub, bed.sources.private]) {
    configured.set(
      Buffer.from(`${source.username}:${source.password}`).toString('base64'),
      `Basic credentials of ${source.host}`,
    );
  }
  const secrets: Secret[] = [...configured].map(([value, label]) => ({ value, kind: 'configured', label }));
  for (const value of await bed.control.issuedSecrets()) {
    if (configured.has(value)) continue;
    const claims = claimsOf(value) ?? {};
    const iss = String(claims['iss'] ?? '');
    const aud = String(claims['aud'] ?? '');
    let kind: Kind;
    if (iss === bed.oidc.issuer) kind = 'id-token';
    else if (iss === 'Azure Container Registry') kind = 'acr-token';
    else if (claims['access'] !== undefined && claims['appidacr'] === undefined) kind = 'hub-token';
    else if (aud.includes('containerregistry')) kind = 'acr-audience-token';
    else kind = 'arm-token';
    secrets.push({
      value,
      kind,
      label: `${kind} (aud ${aud})`,
      ...(kind === 'acr-token' && { audience: aud }),
    });
  }
  return secrets;
}

/** The places a user sees: stdout (without the add-mask commands), stderr, outputs, summary, annotations. */
function visibleTexts(run: ActionRun): Record<string, string> {
  return {
    stdout: run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n'),
    stderr: run.stderr,
    outputs: JSON.stringify(run.outputs),
    summary: run.summary,
    annotations: run.annotations.map((a) => a.message).join('\n'),
    exportedEnv: JSON.stringify(run.exportedEnv),
  };
}

/** What a logged request carried: its Authorization header (Basic decoded too), body and URL. */
function carried(entry: { headers: Record<string, string>; url: string; body?: string }): string {
  const auth = entry.headers['authorization'] ?? '';
  const basic = /^Basic\s+(\S+)/i.exec(auth)?.[1];
  const decoded = basic ? Buffer.from(basic, 'base64').toString('utf8') : '';
  let body = entry.body ?? '';
  try {
    body += `\n${new URLSearchParams(body).toString()}\n${decodeURIComponent(body)}`;
  } catch {
    // not form-encoded
  }
  return [auth, decoded, body, entry.url].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------------

describe('secrets stay secret with step debug on', () => {
  it('every scenario ran and ended as expected', () => {
    expect(outcomes).toHaveLength(scenarios.length);
    for (const { scenario, run } of outcomes) {
      if (run.exitCode !== scenario.exitCode) {
        throw new Error(
          `${scenario.name}: exit ${run.exitCode}, expected ${scenario.exitCode}\n${run.stdout}\n${run.stderr}`,
        );
      }
      // Debug output really was on.
      expect(run.stdout).toContain('::debug::');
    }
  });

  it('no known secret appears in stdout, stderr, outputs, summary or an error, outside ::add-mask::', async () => {
    const secrets = await knownSecrets();
    expect(secrets.filter((s) => s.kind === 'arm-token').length).toBeGreaterThan(0);
    expect(secrets.filter((s) => s.kind === 'id-token').length).toBeGreaterThan(0);
    expect(secrets.filter((s) => s.kind === 'acr-token').length).toBeGreaterThan(0);
    const leaks: string[] = [];
    for (const { scenario, run } of outcomes) {
      for (const [where, text] of Object.entries(visibleTexts(run))) {
        for (const secret of secrets) {
          if (text.includes(secret.value)) leaks.push(`${scenario.name}: ${secret.label} in ${where}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });

  it('every credential the action sent anywhere was masked; secret inputs before anything else was printed', async () => {
    const secrets = await knownSecrets();
    const unmasked: string[] = [];
    for (const { scenario, run, requests, privateFront: front } of outcomes) {
      const sent = [...requests, ...front].map(carried).join('\n');
      for (const secret of secrets) {
        // The runner registers its own request token as a secret; the action does not need to.
        if (secret.value === bed.oidc.requestToken || secret.label.startsWith('Basic credentials')) continue;
        if (sent.includes(secret.value) && !run.masks.includes(secret.value)) {
          unmasked.push(`${scenario.name}: ${secret.label} was sent but never masked`);
        }
      }
      const lines = run.stdout.split('\n');
      const firstOther = lines.findIndex((l) => l !== '' && !l.startsWith('::add-mask::'));
      for (const name of ['client-secret', 'source-password']) {
        const value = scenario.inputs(bed)[name];
        if (!value) continue;
        const maskAt = lines.indexOf(`::add-mask::${value}`);
        expect(maskAt).toBeGreaterThanOrEqual(0);
        expect(maskAt).toBeLessThan(firstOther);
      }
    }
    expect(unmasked).toEqual([]);
  });
});

describe('credentials go only where they belong', () => {
  it('each credential reached only its own service (the request logs as witness)', async () => {
    const secrets = await knownSecrets();
    const acrByService = new Map(Object.values(bed.acrs).map((a) => [`acr:${a.name}`, a.loginServer]));
    const misplaced: string[] = [];
    for (const { scenario, requests, privateFront: front, cdn: cdnLog } of outcomes) {
      const entries = [
        ...requests.map((r) => ({ where: r.service, method: r.method, url: r.url, text: carried(r) })),
        ...front.map((r) => ({ where: 'private registry', method: r.method, url: r.url, text: carried(r) })),
        ...cdnLog.map((r) => ({ where: 'cdn', method: r.method, url: r.url, text: carried(r) })),
      ];
      for (const secret of secrets) {
        for (const e of entries) {
          if (!e.text.includes(secret.value)) continue;
          const importBody = e.where === 'arm' && e.method === 'POST' && /\/importImage/i.test(e.url);
          const ok = ((): boolean => {
            switch (secret.kind) {
              case 'arm-token':
                return e.where === 'arm';
              case 'acr-audience-token':
                return e.where.startsWith('acr:') && e.url.startsWith('/oauth2/exchange');
              case 'acr-token':
                return acrByService.get(e.where) === secret.audience;
              case 'id-token':
                return e.where === 'entra';
              case 'hub-token':
                return false; // the hub itself is not in these logs
              case 'configured':
                if (secret.label.startsWith('client secret')) return e.where === 'entra';
                if (secret.value === bed.oidc.requestToken) return e.where === 'oidc';
                if (secret.label === 'hub password') return e.where === 'hubauth' || importBody;
                if (secret.label === 'private registry password')
                  return e.where === 'private registry' || importBody;
                // Basic credentials: to the hub's token server and the private registry, never elsewhere.
                if (secret.label === `Basic credentials of ${bed.sources.hub.host}`)
                  return e.where === 'hubauth';
                if (secret.label === `Basic credentials of ${bed.sources.private.host}`) {
                  return e.where === 'private registry';
                }
                return false;
            }
          })();
          if (!ok)
            misplaced.push(
              `${scenario.name}: ${secret.label} went to ${e.where} ${e.method} ${e.url.split('?')[0]}`,
            );
        }
      }
    }
    expect(misplaced).toEqual([]);
  });

  it('a redirect to another host carries no credentials', () => {
    const outcome = outcomes.find((o) => o.scenario.name.startsWith('private registry'))!;
    // The client sent its Basic credentials to the registry, was redirected, and followed without them.
    expect(
      outcome.privateFront.some((r) => r.status === 307 && r.headers['authorization']?.startsWith('Basic')),
    ).toBe(true);
    expect(outcome.cdn.length).toBeGreaterThan(0);
    for (const r of outcome.cdn) expect(r.headers['authorization']).toBeUndefined();
    expect(outcome.run.outputs['digest']).toBe(bed.sources.private.images['ociSingle']!.digest);
  });

  it('the import body carries source credentials only for that source', () => {
    for (const { scenario, requests } of outcomes) {
      const calls = requests.filter((r) => r.service === 'arm' && /\/importImage/i.test(r.url));
      for (const call of calls) {
        const body = JSON.parse(call.body) as {
          source: { registryUri?: string; credentials?: { password: string } };
        };
        const inputs = scenario.inputs(bed);
        if (inputs['source-password']) {
          expect(body.source.credentials?.password).toBe(inputs['source-password']);
          expect(inputs['source']!.startsWith(`${body.source.registryUri}/`)).toBe(true);
        } else {
          expect(body.source.credentials).toBeUndefined();
        }
      }
    }
  });
});

describe('escaping', () => {
  it('a hostile ARM error reaches the summary escaped, and cannot add workflow commands', () => {
    const { run } = outcomes.find((o) => o.scenario.name.startsWith('a failed import'))!;
    const summary = run.summary;
    expect(summary).toContain('Error copying blobs');
    for (const raw of ['<img', '<script', '](http://evil', '**loud**']) expect(summary).not.toContain(raw);
    // A pipe would end the cell, a backtick open code: each only escaped.
    expect(summary).not.toMatch(/(^|[^\\])\| cell/m);
    expect(summary).not.toMatch(/(^|[^\\])`tick/m);
    expect(summary).toContain('\\| cell \\`tick\\`');
    expect(summary).toContain('&lt;img src=x onerror=alert\\(1\\)&gt;');
    // The URL is code, not a link.
    expect(summary).toContain('\\[click me\\]\\(`http://evil.example/x`\\)');
    // No line of the step's output starts a command the error text carried.
    const commands = run.stdout.split('\n').filter((l) => l.startsWith('::'));
    expect(
      commands.filter((l) => l.includes('injected-annotation') && l.startsWith('::warning::injected')),
    ).toEqual([]);
    expect(run.masks).not.toContain('not-a-secret Error copying blobs');
    expect(run.annotations.filter((a) => a.message.startsWith('injected-annotation'))).toEqual([]);
    // The error annotation still tells the whole story, on one command line.
    const error = run.annotations.find((a) => a.level === 'error');
    expect(error?.message).toContain('<img src=x onerror=alert(1)>');
    expect(error?.message).toContain('::warning::injected-annotation');
  });

  it('references with Markdown-active characters are escaped in the summary', () => {
    const { run } = outcomes.find((o) => o.scenario.name.startsWith('client-secret'))!;
    expect(run.summary).toContain('secrets/aci:\\_v1\\_');
    expect(run.summary).not.toMatch(/aci:_v1_/);
  });
});
