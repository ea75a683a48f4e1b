/**
 * The agent's proxy variables as the task's one proxy decision (src/hosts/pipelines/proxy.ts), and the custom cloud
 * authority check (checkCustomCloudAuthority). End to end through the bundled task: __tests__/e2e/pipelines-network.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { InputError, proxyFor } from '../../src/engine/index.js';
import { agentProxySecrets, agentProxySettings } from '../../src/hosts/pipelines/proxy.js';
import {
  checkCustomCloudAuthority,
  type ServiceConnection,
} from '../../src/hosts/pipelines/service-connection.js';

const via = (env: Record<string, string>, url: string): string | undefined =>
  proxyFor(agentProxySettings(env), new URL(url))?.href;

describe('agentProxySettings', () => {
  it('uses AGENT_PROXYURL for https and http, with the credentials percent-encoded in full', () => {
    const env = {
      AGENT_PROXYURL: 'http://proxy.corp:8080',
      AGENT_PROXYUSERNAME: 'CORP\\svc agent',
      AGENT_PROXYPASSWORD: 'p%ss:w@rd;]',
    };
    const proxy = new URL(via(env, 'https://management.azure.com/x')!);
    expect(proxy.host).toBe('proxy.corp:8080');
    expect(decodeURIComponent(proxy.username)).toBe('CORP\\svc agent');
    expect(decodeURIComponent(proxy.password)).toBe('p%ss:w@rd;]');
    expect(via(env, 'http://registry.local/v2/')).toBe(proxy.href);
    expect(agentProxySettings(env).https?.variable).toBe('AGENT_PROXYURL');
  });

  it('reads the password of the secret variable form too, and masks it and its encoded form', () => {
    const env = {
      AGENT_PROXYURL: 'proxy.corp:3128',
      AGENT_PROXYUSERNAME: 'u',
      SECRET_AGENT_PROXYPASSWORD: 'a b%',
    };
    expect(decodeURIComponent(new URL(via(env, 'https://x.example/')!).password)).toBe('a b%');
    expect(agentProxySecrets(env)).toEqual(['a b%', 'a%20b%25']);
    expect(agentProxySecrets({ AGENT_PROXYPASSWORD: 'plain' })).toEqual(['plain']);
    expect(agentProxySecrets({})).toEqual([]);
  });

  it('bypasses URLs that match an expression of AGENT_PROXYBYPASSLIST (case-insensitive, whole URL)', () => {
    const env = {
      AGENT_PROXYURL: 'http://proxy.corp:8080',
      AGENT_PROXYBYPASSLIST: JSON.stringify(['\\.corp\\.internal', '^https://127\\.0\\.0\\.1:8443/']),
    };
    expect(via(env, 'https://acr.CORP.internal/v2/')).toBeUndefined();
    expect(via(env, 'https://127.0.0.1:8443/token')).toBeUndefined();
    expect(via(env, 'https://127.0.0.1:9443/token')).toBe('http://proxy.corp:8080/');
    expect(via(env, 'https://login.microsoftonline.com/t/oauth2/v2.0/token')).toBe('http://proxy.corp:8080/');
  });

  it('keeps NO_PROXY with the agent proxy, and the standard variables without one', () => {
    expect(
      via({ AGENT_PROXYURL: 'http://p:1', NO_PROXY: 'mcr.microsoft.com' }, 'https://mcr.microsoft.com/'),
    ).toBe(undefined);
    expect(via({ HTTPS_PROXY: 'http://std:2' }, 'https://management.azure.com/')).toBe('http://std:2/');
    expect(via({ AGENT_PROXYURL: 'http://agent:3', HTTPS_PROXY: 'http://std:2' }, 'https://a.example/')).toBe(
      'http://agent:3/',
    );
    expect(via({}, 'https://management.azure.com/')).toBeUndefined();
  });

  it.each([
    [{ AGENT_PROXYURL: 'ftp://proxy.corp' }, 'AGENT_PROXYURL'],
    [{ AGENT_PROXYURL: 'http://p:1', AGENT_PROXYBYPASSLIST: 'a.corp,b.corp' }, 'AGENT_PROXYBYPASSLIST'],
    [{ AGENT_PROXYURL: 'http://p:1', AGENT_PROXYBYPASSLIST: '{"a":1}' }, 'AGENT_PROXYBYPASSLIST'],
    [{ AGENT_PROXYURL: 'http://p:1', AGENT_PROXYBYPASSLIST: '["(unclosed"]' }, 'AGENT_PROXYBYPASSLIST'],
  ])('%j is an input error naming %s', (env, variable) => {
    let caught: unknown;
    try {
      agentProxySettings(env);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as InputError).problems[0]!.input).toContain(variable);
    expect((caught as InputError).describe()).toMatch(/proxy/i);
  });
});

describe('checkCustomCloudAuthority', () => {
  const connection = (authorityHost: string | undefined): ServiceConnection =>
    ({
      id: 'c0ffee00-0000-4000-a000-000000000001',
      endpoints: { resourceManager: 'https://management.local.azurestack.external', authorityHost },
    }) as ServiceConnection;
  const discovered = 'https://login.microsoftonline.com';

  it('accepts the authority the metadata names, however spelt, or none', () => {
    expect(() => checkCustomCloudAuthority(connection(undefined), discovered)).not.toThrow();
    expect(() =>
      checkCustomCloudAuthority(connection('https://LOGIN.microsoftonline.com/'), discovered),
    ).not.toThrow();
  });

  it('refuses another authority, naming both and the fix', () => {
    expect(() =>
      checkCustomCloudAuthority(connection('https://adfs.local.azurestack.external/adfs'), discovered),
    ).toThrow(
      /names the Entra authority https:\/\/adfs\.local\.azurestack\.external\/adfs \(activeDirectoryAuthority\), but .* names https:\/\/login\.microsoftonline\.com/,
    );
  });
});
