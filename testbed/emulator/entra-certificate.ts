/**
 * Entra's certificate credential (private_key_jwt): a `client_assertion` whose `iss` and `sub` are the app's client
 * ID, signed with the key of a certificate uploaded to the app and named in its header by thumbprint (`x5t#S256`
 * with PS256, what msal-node sends for @azure/identity's ClientCertificateCredential; or the older `x5t` with
 * RS256). Checked: the thumbprint names one of the app's certificates (else AADSTS700027), the signature, `aud` = the
 * tenant's token endpoint, and the lifetime (AADSTS700024).
 */
import { constants, createHash, verify, X509Certificate } from 'node:crypto';
import { b64url, type DecodedJwt, numClaim, strClaim, audiences, nowSeconds } from './jwt.js';
import type { PrincipalConfig } from './state.js';

export type CertificateCheck = { ok: true } | { ok: false; error: string; code: number; text: string };

/** Whether an assertion is a certificate credential of `clientId` (rather than a federated token). */
export function isCertificateAssertion(decoded: DecodedJwt, clientId: string): boolean {
  const iss = strClaim(decoded.claims, 'iss');
  return iss !== undefined && iss.toLowerCase() === clientId.toLowerCase();
}

export function checkCertificateAssertion(
  decoded: DecodedJwt,
  app: PrincipalConfig,
  tokenEndpoints: string[],
): CertificateCheck {
  const { header, claims } = decoded;
  const s256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
  const s1 = typeof header['x5t'] === 'string' ? header['x5t'] : undefined;
  const certificates = (app.certificates ?? []).map((pem) => new X509Certificate(pem));
  const match = certificates.find(
    (c) =>
      (s256 !== undefined && b64url(createHash('sha256').update(c.raw).digest()) === s256) ||
      (s1 !== undefined && b64url(createHash('sha1').update(c.raw).digest()) === s1),
  );
  const presentedThumbprint = Buffer.from(s256 ?? s1 ?? '', 'base64url')
    .toString('hex')
    .toUpperCase();
  if (!match) {
    return {
      ok: false,
      error: 'invalid_client',
      code: 700027,
      text: `Client assertion failed signature validation. Trace ID: n/a. [Reason - The key was not found., Thumbprint of key used by client: '${presentedThumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.clientId}'.`,
    };
  }
  const alg = header['alg'];
  const key = match.publicKey;
  const data = Buffer.from(decoded.signingInput);
  const good =
    alg === 'PS256'
      ? verify(
          'sha256',
          data,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          decoded.signature,
        )
      : alg === 'RS256'
        ? verify('sha256', data, key, decoded.signature)
        : false;
  if (!good) {
    return {
      ok: false,
      error: 'invalid_client',
      code: 700027,
      text: `Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '${presentedThumbprint}']`,
    };
  }
  if (strClaim(claims, 'sub')?.toLowerCase() !== app.clientId.toLowerCase()) {
    return {
      ok: false,
      error: 'invalid_client',
      code: 700023,
      text: "Client assertion audience claim does not match Realm issuer or 'sub' is not the client id.",
    };
  }
  if (!audiences(claims).some((a) => tokenEndpoints.includes(a))) {
    return {
      ok: false,
      error: 'invalid_client',
      code: 50027,
      text: `JWT token is invalid or malformed: the audience '${audiences(claims).join(',')}' is not this tenant's token endpoint.`,
    };
  }
  const now = nowSeconds();
  const exp = numClaim(claims, 'exp');
  const nbf = numClaim(claims, 'nbf');
  if (exp === undefined || now >= exp || (nbf !== undefined && now + 300 < nbf)) {
    return {
      ok: false,
      error: 'invalid_client',
      code: 700024,
      text: 'Client assertion is not within its valid time range.',
    };
  }
  return { ok: true };
}
