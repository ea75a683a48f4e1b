/**
 * The task harness (testbed/run-task.ts) with a stand-in script: the agent environment reaches the process, the
 * logging commands and summaries come back parsed, removed variables are gone.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentEnv } from '../../testbed/agent-env.js';
import { agentWorkFolder, removeWorkFolder, runTask } from '../../testbed/run-task.js';

let dir: string;
let work: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'run-task-'));
  work = await agentWorkFolder(dir);
  script = join(dir, 'task.mjs');
  await writeFile(
    script,
    `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
const env = process.env;
console.log('##vso[task.setsecret]' + env.INPUT_SECRET);
console.log('##[group]Inputs');
console.log('registry=' + env.INPUT_REGISTRY + ' has-oidc=' + Boolean(env.SYSTEM_OIDCREQUESTURI));
console.log('##[endgroup]');
console.log('##vso[task.setvariable variable=digest;isOutput=true;issecret=false]sha256:abc');
console.log('##vso[task.setvariable variable=internal]x');
const file = join(env.AGENT_TEMPDIRECTORY, 'summary.md');
writeFileSync(file, '# Summary %\\n');
console.log('##vso[task.uploadsummary]' + file);
console.log('##vso[task.complete result=SucceededWithIssues;]done');
process.exit(3);
`,
  );
});
afterAll(async () => {
  await removeWorkFolder(work);
  await rm(dir, { recursive: true, force: true });
});

it('runs a script with the agent environment and reads its commands back', async () => {
  const env = agentEnv({
    inputs: { registry: 'myacr', secret: 's3' },
    accessToken: 't',
    oidcRequestUri: 'https://127.0.0.1:1/x/oidctoken',
    workFolder: work,
  });
  const run = await runTask(env, { script, env: { SYSTEM_OIDCREQUESTURI: undefined } });
  expect(run.exitCode).toBe(3);
  expect(run.timedOut).toBe(false);
  expect(run.log.secrets).toEqual(['s3']);
  expect(run.log.groups).toEqual(['Inputs']);
  expect(run.log.text).toEqual(['registry=myacr has-oidc=false']);
  expect(run.outputs).toEqual({ digest: 'sha256:abc' });
  expect(run.summaries).toEqual([{ path: join(work, '_temp', 'summary.md'), text: '# Summary %\n' }]);
  expect(run.log.completions).toEqual([{ result: 'SucceededWithIssues', message: 'done' }]);
  expect(run.env['SYSTEM_OIDCREQUESTURI']).toBeUndefined();
  expect(run.env['AGENT_TEMPDIRECTORY']).toBe(join(work, '_temp'));
});
