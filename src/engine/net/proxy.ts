/**
 * The one proxy decision for every request of a run (ARM, registries, Entra ID, GitHub's OIDC endpoint): the host
 * reads HTTPS_PROXY / HTTP_PROXY / NO_PROXY from its environment once, and the transport asks `proxyFor(url)` for each
 * request. The rules are those of undici's EnvHttpProxyAgent (lower-case variables first; NO_PROXY entries separated
 * by commas or spaces, `*` for every host, `host`, `.domain` or `*.domain` for a host and its subdomains, an optional
 * `:port`), so a value means the same whichever library would have read it.
 */
import { InputError } from '../errors.js';

export interface ProxySettings {
  /** Proxy for https URLs, and the variable it came from. */
  https: { url: URL; variable: string } | undefined;
  /** Proxy for http URLs. */
  http: { url: URL; variable: string } | undefined;
  noProxy: NoProxyEntry[];
  /** More exceptions, tested against the whole request URL (an Azure Pipelines agent's proxy bypass list). */
  bypass?: readonly RegExp[];
  /** The hint when the proxy asks for credentials (HTTP 407); default: put them in the HTTPS_PROXY URL. */
  authenticationHint?: string;
}

interface NoProxyEntry {
  hostname: string;
  port: number;
  /** `*` alone: every host. */
  all: boolean;
  /** Written as `*.domain`: subdomains only (`.domain` also matches the domain itself, as in undici). */
  subdomainsOnly: boolean;
}

export const NO_PROXY_SETTINGS: ProxySettings = { https: undefined, http: undefined, noProxy: [] };

/**
 * Reads the proxy variables. A value without a scheme (`proxy.corp:3128`, as curl accepts it) means `http://`; a value
 * that is no proxy URL at all fails as an input error naming the variable, before any request.
 */
export function proxySettingsFromEnv(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  const problems: ConstructorParameters<typeof InputError>[0][number][] = [];
  const read = (names: string[]): { url: URL; variable: string } | undefined => {
    for (const variable of names) {
      const value = env[variable]?.trim();
      if (!value) continue;
      const url = parseProxyUrl(value);
      if (!url) {
        problems.push({
          input: `${variable} (environment variable)`,
          value: redactUserinfo(value),
          message:
            'is not a proxy URL: write it as http://host:port (with user:password@ before the host when the proxy needs credentials), or unset it',
        });
        return undefined;
      }
      return { url, variable };
    }
    return undefined;
  };
  const http = read(['http_proxy', 'HTTP_PROXY']);
  const https = read(['https_proxy', 'HTTPS_PROXY']) ?? http;
  if (problems.length) throw new InputError(problems);
  const noProxyValue = env['no_proxy'] ?? env['NO_PROXY'] ?? '';
  return { https, http, noProxy: parseNoProxy(noProxyValue) };
}

function parseProxyUrl(value: string): URL | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return undefined;
  return url;
}

function parseNoProxy(value: string): NoProxyEntry[] {
  const entries: NoProxyEntry[] = [];
  for (const raw of value.split(/[,\s]/)) {
    const entry = raw.trim();
    if (!entry) continue;
    let hostname: string;
    let port: number;
    const v6 = /^\[(.+)\]:(\d+)$/.exec(entry);
    if (v6) {
      hostname = v6[1]!;
      port = Number(v6[2]);
    } else {
      const bare = entry.replace(/^\[(.+)\]$/, '$1');
      const withPort = (bare.match(/:/g) ?? []).length === 1 ? /^(.+):(\d+)$/.exec(bare) : null;
      hostname = withPort ? withPort[1]! : bare;
      port = withPort ? Number(withPort[2]) : 0;
    }
    const subdomainsOnly = hostname.startsWith('*.');
    hostname = hostname
      .replace(/^\*?\./, '')
      .replace(/^(.+)\.$/, '$1')
      .toLowerCase();
    entries.push({ hostname, port, all: hostname === '*', subdomainsOnly });
  }
  return entries;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/** The proxy a request to `url` goes through, or undefined for a direct connection. */
export function proxyFor(settings: ProxySettings, url: URL): URL | undefined {
  const proxy = url.protocol === 'https:' ? settings.https : settings.http;
  if (!proxy) return undefined;
  if (settings.bypass?.some((pattern) => pattern.test(url.href))) return undefined;
  const hostname = url.hostname
    .replace(/^\[(.+)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
  const port = Number(url.port) || DEFAULT_PORTS[url.protocol] || 0;
  for (const entry of settings.noProxy) {
    if (entry.port && entry.port !== port) continue;
    if (entry.all) return undefined;
    if (!entry.subdomainsOnly && hostname === entry.hostname) return undefined;
    if (hostname.endsWith(`.${entry.hostname}`)) return undefined;
  }
  return proxy.url;
}

/** How messages name a proxy: its origin, never its credentials. */
export function describeProxy(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

function redactUserinfo(value: string): string {
  return value.replace(/\/\/[^/@]*@/, '//***@').replace(/^[^/:@]+:[^/@]*@/, '***@');
}
