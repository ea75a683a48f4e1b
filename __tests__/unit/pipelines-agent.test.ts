/**
 * Publishing a run to the Azure Pipelines agent (src/hosts/pipelines/agent.ts): outputs, the summary file and its
 * upload, per-image error issues, the step's result; read back with testbed/agent-env.ts's parser.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toOutputs, type ImageResult, type RunResult } from '../../src/engine/index.js';
import {
  agentGroup,
  agentLogger,
  completionMessage,
  publishOutputs,
  publishSummary,
  reportImageErrors,
  SUMMARY_FILE_NAME,
  taskResult,
} from '../../src/hosts/pipelines/agent.js';
import { AgentLog } from '../../src/hosts/pipelines/logging.js';
import { parseAgentLog } from '../../testbed/agent-env.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

function image(overrides: Partial<ImageResult> = {}): ImageResult {
  return {
    source: 'docker.io/library/nginx:1.27',
    sourceDigest: DIGEST,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    platforms: undefined,
    targets: [{ ref: 'myacr.azurecr.io/library/nginx:1.27', digest: DIGEST }],
    status: 'imported',
    durationMs: 1200,
    notes: [],
    ...overrides,
  };
}

function run(images: ImageResult[], dryRun = false): RunResult {
  return {
    registry: { name: 'myacr', loginServer: 'myacr.azurecr.io', id: '/subscriptions/s/x' },
    images,
    ok: images.every((i) => i.status !== 'failed'),
    durationMs: 2000,
    dryRun,
  };
}

function capture(): { log: AgentLog; lines: string[] } {
  const lines: string[] = [];
  return { log: new AgentLog((l) => lines.push(l)), lines };
}

let temp: string;
beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'agent-temp-'));
});
afterAll(async () => {
  await rm(temp, { recursive: true, force: true });
});

describe('publishing a run', () => {
  it('sets the three output variables exactly as the Action outputs them', () => {
    const { log, lines } = capture();
    const result = run([
      image(),
      image({ source: 'x:1', status: 'failed', error: 'boom ##vso[task.complete]', hint: 'fix' }),
    ]);
    const outputs = toOutputs(result);
    publishOutputs(log, outputs);
    const parsed = parseAgentLog(lines.join('\n'));
    expect(parsed.variables).toEqual({
      digest: { value: outputs.digest, isOutput: true, isSecret: false },
      images: { value: outputs.images, isOutput: true, isSecret: false },
      results: { value: outputs.results, isOutput: true, isSecret: false },
    });
    expect(JSON.parse(parsed.variables['results']?.value ?? '')).toHaveLength(2);
    expect(parsed.completions).toEqual([]);
  });

  it('writes the summary as UTF-8 markdown in its own folder of Agent.TempDirectory and uploads it', async () => {
    const { log, lines } = capture();
    const markdown =
      '## ACR import\n\n| Status | Target |\n| --- | --- |\n| ✅ imported | `myacr.azurecr.io/app:1` |\n';
    const first = await publishSummary(log, temp, markdown);
    const second = await publishSummary(log, temp, markdown);
    expect(first).not.toBe(second);
    const parsed = parseAgentLog(lines.join('\n'));
    expect(parsed.summaries).toEqual([first, second]);
    expect(first?.endsWith(`/${SUMMARY_FILE_NAME}`)).toBe(true);
    expect(await readFile(first ?? '', 'utf8')).toBe(markdown);
  });

  it('warns, and does not fail, when the summary cannot be written', async () => {
    const { log, lines } = capture();
    const notADirectory = join(temp, 'file');
    await writeFile(notADirectory, 'x');
    expect(await publishSummary(log, notADirectory, '# x')).toBeUndefined();
    expect(await publishSummary(log, undefined, '# x')).toBeUndefined();
    const parsed = parseAgentLog(lines.join('\n'));
    expect(parsed.summaries).toEqual([]);
    expect(parsed.issues.map((i) => i.type)).toEqual(['warning', 'warning']);
    expect(parsed.issues[1]?.message).toContain('AGENT_TEMPDIRECTORY');
  });

  it('reports each failed image as an error issue with its hint, remote text neutralised', () => {
    const { log, lines } = capture();
    reportImageErrors(
      log,
      run([
        image(),
        image({
          source: 'a:1',
          status: 'failed',
          error: 'denied: ##vso[task.setvariable variable=digest]x',
          hint: 'Grant AcrPull.',
        }),
        image({ source: 'b:2', status: 'failed', error: 'not found' }),
      ]),
    );
    const parsed = parseAgentLog(lines.join('\n'));
    expect(parsed.issues).toEqual([
      {
        type: 'error',
        message: 'a:1: denied: #\u200b#vso[task.setvariable variable=digest]x Grant AcrPull.',
      },
      { type: 'error', message: 'b:2: not found' },
    ]);
    expect(parsed.variables).toEqual({});
  });

  it.each([
    ['all imported', [image()], false, 'Succeeded', 'Imported 1 image'],
    ['a warning', [image(), image()], true, 'SucceededWithIssues', 'Imported 2 images'],
    ['one failed', [image(), image({ status: 'failed' })], false, 'Failed', '1 of 2 images failed'],
  ] as const)('%s -> %s', (_name, images, warn, expected, message) => {
    const { log, lines } = capture();
    if (warn) agentLogger(log).warning('importing by tag');
    const result = run([...images]);
    log.complete(taskResult(result, log), completionMessage(result));
    expect(parseAgentLog(lines.join('\n')).completions).toEqual([{ result: expected, message }]);
  });

  it('says a dry run planned', () => {
    expect(completionMessage(run([image({ status: 'planned' })], true))).toBe('Planned 1 image (dry run)');
  });

  it('logs engine phases as groups, closed on failure', async () => {
    const { log, lines } = capture();
    const logger = agentLogger(log);
    const group = agentGroup(log);
    await group('Import 1 image', async () => {
      logger.info('resolving ##[error]x');
      logger.debug('GET /v2/');
    });
    await expect(group('Verify', () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    const parsed = parseAgentLog(lines.join('\n'));
    expect(parsed.groups).toEqual(['Import 1 image', 'Verify']);
    expect(parsed.groupsBalanced).toBe(true);
    expect(parsed.text).toEqual(['resolving #\u200b#[error]x']);
    expect(parsed.debug).toEqual(['GET /v2/']);
  });
});
