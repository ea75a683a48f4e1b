/**
 * The agent's proxy, as a self-hosted agent configured with `./config.sh --proxyurl` hands it to every task:
 * `AGENT_PROXYURL`, `AGENT_PROXYUSERNAME`, `AGENT_PROXYPASSWORD` (a secret variable: also read from
 * `SECRET_AGENT_PROXYPASSWORD`) and `AGENT_PROXYBYPASSLIST` (a JSON array of regular expressions, each tested
 * case-insensitively against the whole request URL, as azure-pipelines-task-lib's getHttpProxyConfiguration does).
 * They become the engine's one proxy decision (ProxySettings), so every request of the task (ARM, the registries,
 * Entra ID, Azure DevOps' OIDC endpoint, a managed identity endpoint) takes the agent's proxy. Without AGENT_PROXYURL
 * the usual HTTPS_PROXY / HTTP_PROXY / NO_PROXY variables decide, as for the Action and the CLI. NO_PROXY applies
 * with the agent's proxy too.
 */
import { InputError, proxySettingsFromEnv, type ProxySettings } from '../../engine/index.js';
import type { AgentEnv } from './service-connection.js';

const STANDARD = /^(https?_proxy|no_proxy|all_proxy)$/i;

/** The proxy password (and its percent-encoded form, as it sits in the proxy URL): masked before anything is logged. */
export function agentProxySecrets(env: AgentEnv): string[] {
  const password = proxyPassword(env);
  if (!password) return [];
  const encoded = encodeURIComponent(password);
  return encoded === password ? [password] : [password, encoded];
}

function proxyPassword(env: AgentEnv): string | undefined {
  return env['AGENT_PROXYPASSWORD'] || env['SECRET_AGENT_PROXYPASSWORD'] || undefined;
}

/** The standard proxy variables of the agent's environment (what the runner would read without an agent proxy). */
export function standardProxyEnv(env: AgentEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) if (STANDARD.test(name)) out[name] = value;
  return out;
}

/** The task's proxy decision. Throws an InputError naming the variable for a value that is no proxy URL or list. */
export function agentProxySettings(env: AgentEnv): ProxySettings {
  const standard = standardProxyEnv(env);
  const given = env['AGENT_PROXYURL']?.trim();
  if (!given) return proxySettingsFromEnv(standard);

  let url: URL | undefined;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(given) ? given : `http://${given}`);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) {
    throw new InputError([
      {
        input: 'AGENT_PROXYURL (the agent variable Agent.ProxyUrl)',
        value: given.replace(/\/\/[^/@]*@/, '//***@'),
        message:
          "is not a proxy URL: reconfigure the agent's proxy as http://host:port (./config.sh --proxyurl, or the agent's .proxy file)",
      },
    ]);
  }
  const username = env['AGENT_PROXYUSERNAME'];
  const password = proxyPassword(env);
  if (username) {
    // Percent-encoded in full (the URL setters leave `%` as it is); undici decodes them into Proxy-Authorization.
    url.username = encodeURIComponent(username);
    url.password = encodeURIComponent(password ?? '');
  }
  const bypass = bypassList(env['AGENT_PROXYBYPASSLIST']);
  const formatted = url.href;
  const settings = proxySettingsFromEnv({
    HTTPS_PROXY: formatted,
    HTTP_PROXY: formatted,
    NO_PROXY: standard['no_proxy'] ?? standard['NO_PROXY'],
  });
  const named = settings.https && { ...settings.https, variable: 'AGENT_PROXYURL' };
  return { ...settings, https: named, http: named, bypass, authenticationHint: AGENT_PROXY_CREDENTIALS };
}

const AGENT_PROXY_CREDENTIALS =
  "The agent's proxy asks for credentials it was not given, or refused them: reconfigure the agent with the proxy's user and password (./config.sh --proxyurl <url> --proxyusername <user> --proxypassword <password>, which sets Agent.ProxyUsername and Agent.ProxyPassword), or add a regular expression matching this host to the agent's .proxybypass file if it should be reached directly.";

function bypassList(text: string | undefined): RegExp[] {
  if (!text?.trim()) return [];
  const problem = (message: string): InputError =>
    new InputError([
      {
        input: 'AGENT_PROXYBYPASSLIST (the agent variable Agent.ProxyBypassList)',
        value: text,
        message,
      },
    ]);
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    throw problem(
      'is not a JSON array of regular expressions (the agent writes one from its .proxybypass file, one expression per line): fix the .proxybypass file of the agent',
    );
  }
  if (!Array.isArray(list) || !list.every((e): e is string => typeof e === 'string')) {
    throw problem(
      'is not a JSON array of strings (regular expressions): fix the .proxybypass file of the agent',
    );
  }
  return list
    .filter((e) => e.trim())
    .map((e) => {
      try {
        return new RegExp(e, 'i');
      } catch {
        throw problem(
          `holds '${e}', which is not a regular expression: fix that line of the agent's .proxybypass file`,
        );
      }
    });
}
