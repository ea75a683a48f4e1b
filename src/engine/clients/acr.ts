/**
 * ACR data-plane sign-in: an Entra access token is exchanged once per registry for an ACR refresh token
 * (`/oauth2/exchange`), which buys short-lived access tokens per repository scope (`/oauth2/token`).
 */
import { AuthError, RemoteError } from '../errors.js';
import { jsonBody, type HttpClient, type HttpResponse } from '../net/http.js';
import type { SecretSink } from '../ports.js';
import { ociError, type RegistryAuthorizer } from './registry.js';

export class AcrAuthorizer implements RegistryAuthorizer {
  readonly preemptive = true;
  private refreshToken: Promise<string> | undefined;

  constructor(
    private readonly http: HttpClient,
    private readonly mask: SecretSink,
    private readonly loginServer: string,
    /** An Entra access token the registry accepts (ARM audience, or https://containerregistry.azure.net). */
    private readonly entraToken: () => Promise<string>,
    private readonly tenantId: string | undefined,
  ) {}

  authorize(scope: string): Promise<string> {
    return this.accessToken([scope]);
  }

  /**
   * One access token for several scopes: the `scope` field repeated, as ACR's REST specification describes its token
   * endpoint ("can be specified more than once for multiple scope requests"). A registry that grants fewer shows it
   * with a 401 for the others (clients/registry.ts asks for those one by one).
   */
  authorizeMany(scopes: string[]): Promise<string> {
    return this.accessToken(scopes);
  }

  private async accessToken(scopes: string[]): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const refresh = await this.refresh();
      const res = await this.form('/oauth2/token', [
        ['grant_type', 'refresh_token'],
        ['service', this.loginServer],
        ...scopes.map((scope): [string, string] => ['scope', scope]),
        ['refresh_token', refresh],
      ]);
      if (res.status === 401 && attempt === 1) {
        // The refresh token expired during a long run: exchange again once.
        this.refreshToken = undefined;
        continue;
      }
      const token = this.tokenField(res, 'access_token', `an access token for ${scopes.join(' ')}`);
      return `Bearer ${token}`;
    }
  }

  /** The ACR refresh token (docker login's password with username 00000000-0000-0000-0000-000000000000). */
  refresh(): Promise<string> {
    if (!this.refreshToken) {
      this.refreshToken = (async () => {
        const accessToken = await this.entraToken();
        const res = await this.form('/oauth2/exchange', [
          ['grant_type', 'access_token'],
          ['service', this.loginServer],
          ...(this.tenantId ? [['tenant', this.tenantId] as [string, string]] : []),
          ['access_token', accessToken],
        ]);
        return this.tokenField(res, 'refresh_token', 'a refresh token');
      })();
      this.refreshToken.catch(() => (this.refreshToken = undefined));
    }
    return this.refreshToken;
  }

  private form(path: string, fields: [string, string][]): Promise<HttpResponse> {
    return this.http.send(
      {
        method: 'POST',
        url: `https://${this.loginServer}${path}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      },
      { service: `registry ${this.loginServer}`, followRedirects: false },
    );
  }

  private tokenField(res: HttpResponse, field: 'access_token' | 'refresh_token', what: string): string {
    const value = (jsonBody(res) as Record<string, unknown> | undefined)?.[field];
    if (res.status === 200 && typeof value === 'string' && value !== '') {
      this.mask(value);
      return value;
    }
    const { code, message } = ociError(res);
    const detail = [code, message].filter(Boolean).join(': ') || `HTTP ${res.status}`;
    if (res.status === 401 || res.status === 403) {
      return this.fail(
        new AuthError(
          `${this.loginServer} refused to issue ${what} (${detail}).`,
          res.status === 403
            ? 'The registry blocks this runner (public network access disabled or a firewall rule). Import still works through Azure; verification from the runner needs network access to the registry.'
            : 'The signed-in identity needs a data-plane role on this registry (AcrPull, or Container Registry Data Importer and Data Reader); also check that the registry accepts Entra tokens (azureADAuthenticationAsArmPolicy).',
        ),
      );
    }
    return this.fail(
      new RemoteError({
        service: this.loginServer,
        status: res.status,
        message: `${this.loginServer}: ${what} request failed (${detail}).`,
      }),
    );
  }

  private fail(err: Error): never {
    throw err;
  }
}
