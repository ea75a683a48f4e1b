/**
 * The Azure Pipelines logging-command writer (src/hosts/pipelines/logging.ts), and testbed/agent-env.ts's parser of
 * what a run printed: escaping per the agent's rules, neutralised remote text, secrets first, one task.complete.
 */
import {
  AgentLog,
  command,
  escapeData,
  escapeProperty,
  neutralise,
} from '../../src/hosts/pipelines/logging.js';
import { parseAgentLog, unescapeCommandValue } from '../../testbed/agent-env.js';

function capture(secrets: string[] = []): { log: AgentLog; lines: string[] } {
  const lines: string[] = [];
  return { log: new AgentLog((line) => lines.push(line), secrets), lines };
}

describe('escaping', () => {
  it.each([
    ['plain', 'plain', 'plain'],
    ['100%', '100%AZP25', '100%AZP25'],
    ['a;b', 'a%3Bb', 'a;b'],
    ['a]b', 'a%5Db', 'a]b'],
    ['line1\nline2', 'line1%0Aline2', 'line1%0Aline2'],
    ['cr\r\nlf', 'cr%0D%0Alf', 'cr%0D%0Alf'],
    ['%0A is not a newline', '%AZP250A is not a newline', '%AZP250A is not a newline'],
    ['%AZP25', '%AZP25AZP25', '%AZP25AZP25'],
  ])('%j -> property %j, message %j, and back', (value, property, data) => {
    expect(escapeProperty(value)).toBe(property);
    expect(escapeData(value)).toBe(data);
    expect(unescapeCommandValue(property, true)).toBe(value);
    expect(unescapeCommandValue(data, false)).toBe(value);
  });

  it.each([
    ['##vso[task.setvariable variable=x]evil', '#\u200b#vso[task.setvariable variable=x]evil'],
    ['  ##vso[task.complete result=Failed;]', '  #\u200b#vso[task.complete result=Failed;]'],
    ['text ##vso[task.setsecret]x inside', 'text #\u200b#vso[task.setsecret]x inside'],
    ['##[group]fake', '#\u200b#[group]fake'],
    ['##VSO[task.debug]upper', '#\u200b#VSO[task.debug]upper'],
    ['## not a command', '## not a command'],
    ['#vso[ half', '#vso[ half'],
  ])('neutralises %j', (text, expected) => {
    expect(neutralise(text)).toBe(expected);
    expect(parseAgentLog(neutralise(text)).commands).toEqual([]);
    expect(parseAgentLog(neutralise(text)).groups).toEqual([]);
  });

  it('writes properties in order with a closing ;', () => {
    expect(command('task.setvariable', { variable: 'digest', isOutput: 'true' }, 'sha256:ab')).toBe(
      '##vso[task.setvariable variable=digest;isOutput=true;]sha256:ab',
    );
    expect(command('task.setsecret', {}, 's3cret')).toBe('##vso[task.setsecret]s3cret');
  });
});

describe('AgentLog', () => {
  it('declares constructor secrets before any other line, one line each, once', () => {
    const pem = '-----BEGIN KEY-----\nAAAA\nBBBB\n-----END KEY-----\n';
    const { log, lines } = capture(['tok;en%', pem, 'tok;en%']);
    log.info('hello');
    expect(lines).toEqual([
      '##vso[task.setsecret]tok;en%AZP25',
      '##vso[task.setsecret]-----BEGIN KEY-----',
      '##vso[task.setsecret]AAAA',
      '##vso[task.setsecret]BBBB',
      '##vso[task.setsecret]-----END KEY-----',
      'hello',
    ]);
    expect(parseAgentLog(lines.join('\n')).secrets).toEqual([
      'tok;en%',
      '-----BEGIN KEY-----',
      'AAAA',
      'BBBB',
      '-----END KEY-----',
    ]);
  });

  it('writes output variables that read back exactly, JSON and newlines included', () => {
    const { log, lines } = capture();
    const results = JSON.stringify([{ source: 'a;b]c', error: '100% failed\n##vso[task.complete]' }]);
    log.setOutput('results', results);
    log.setOutput('images', 'r/a@sha256:1\nr/b@sha256:2');
    expect(lines[0]).toMatch(/^##vso\[task\.setvariable variable=results;isOutput=true;issecret=false;\]/);
    expect(lines).toHaveLength(2);
    const parsed = parseAgentLog(lines.join('\n'));
    expect(parsed.variables['results']).toEqual({ value: results, isOutput: true, isSecret: false });
    expect(parsed.variables['images']?.value).toBe('r/a@sha256:1\nr/b@sha256:2');
    expect(parsed.completions).toEqual([]);
  });

  it('neutralises remote text in info, debug, issues and group names', () => {
    const { log, lines } = capture();
    log.info('registry said: ##vso[task.complete result=Succeeded;]\n##[endgroup]');
    log.debug('##vso[task.setvariable variable=digest]x');
    log.warning('##vso[task.setsecret]');
    log.error('line one\n##[error]two');
    log.group('##vso[task.debug]name');
    log.endGroup();
    const parsed = parseAgentLog(lines.join('\n'));
    expect(parsed.commands.map((c) => c.command)).toEqual(['task.debug', 'task.logissue', 'task.logissue']);
    expect(parsed.issues).toEqual([
      { type: 'warning', message: '#\u200b#vso[task.setsecret]' },
      { type: 'error', message: 'line one\n#\u200b#[error]two' },
    ]);
    expect(parsed.variables).toEqual({});
    expect(parsed.secrets).toEqual([]);
    expect(parsed.groups).toEqual(['#\u200b#vso[task.debug]name']);
    expect(parsed.groupsBalanced).toBe(true);
    expect(log.hasIssues).toBe(true);
  });

  it('never nests groups, closes them on throw and before task.complete', async () => {
    const { log, lines } = capture();
    log.group('Resolve');
    log.group('Import');
    await expect(
      log.inGroup('Verify', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    log.group('Report');
    log.complete('Failed', 'one image failed');
    expect(lines).toEqual([
      '##[group]Resolve',
      '##[endgroup]',
      '##[group]Import',
      '##[endgroup]',
      '##[group]Verify',
      '##[endgroup]',
      '##[group]Report',
      '##[endgroup]',
      '##vso[task.complete result=Failed;]one image failed',
    ]);
    expect(parseAgentLog(lines.join('\n')).groupsBalanced).toBe(true);
  });

  it.each(['Succeeded', 'SucceededWithIssues', 'Failed'] as const)(
    'writes exactly one task.complete (%s)',
    (result) => {
      const { log, lines } = capture();
      log.complete(result, 'done\nsecond line');
      expect(() => log.complete('Succeeded', 'again')).toThrow('already');
      const parsed = parseAgentLog(lines.join('\n'));
      expect(parsed.completions).toEqual([{ result, message: 'done second line' }]);
      expect(log.result).toBe(result);
    },
  );

  it('uploads a summary by path', () => {
    const { log, lines } = capture();
    log.uploadSummary('/agent/_temp/acr-import-summary.md');
    expect(lines).toEqual(['##vso[task.uploadsummary]/agent/_temp/acr-import-summary.md']);
    expect(parseAgentLog(lines.join('\n')).summaries).toEqual(['/agent/_temp/acr-import-summary.md']);
  });
});

describe('parseAgentLog', () => {
  it('finds commands anywhere in a line, as the agent does, and groups only at the start', () => {
    const parsed = parseAgentLog(
      [
        'prefix ##vso[task.logissue type=warning]careful',
        '##[group]Phase',
        'plain text',
        '  ##[group]indented is text',
        '##[endgroup]',
        '##vso[task.complete result=Succeeded;]ok',
      ].join('\r\n'),
    );
    expect(parsed.issues).toEqual([{ type: 'warning', message: 'careful' }]);
    expect(parsed.groups).toEqual(['Phase']);
    expect(parsed.text).toEqual(['plain text', '  ##[group]indented is text']);
    expect(parsed.completions).toEqual([{ result: 'Succeeded', message: 'ok' }]);
  });

  it('flags unbalanced groups', () => {
    expect(parseAgentLog('##[group]a\n##[group]b\n##[endgroup]').groupsBalanced).toBe(false);
    expect(parseAgentLog('##[endgroup]').groupsBalanced).toBe(false);
    expect(parseAgentLog('##[group]a').groupsBalanced).toBe(false);
  });
});
