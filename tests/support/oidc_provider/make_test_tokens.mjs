// Makes the fixed tokens of src/oidc/test_tokens.rs (unit tests of the Bearer checks):
//   cd tests/support/oidc_provider && node make_test_tokens.mjs   (prints the constants to paste)
// A throwaway RSA key; only its public half is kept (in JWKS).
import * as jose from 'jose';
import crypto from 'node:crypto';
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const pub = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
const jwk = { ...pub, kid: 'k1', alg: 'RS256', use: 'sig' };
const iss = 'https://sso.example.test/realms/voip';
const base = { iss, aud: ['https://portal.example.test', 'account'], sub: 'user-1', iat: 1700000000, exp: 4100000000, scope: 'read write', preferred_username: 'alice', email: 'alice@example.test', email_verified: false };
const sign = (claims, header = {}) => new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'k1', ...header }).sign(privateKey);
const out = {
  jwks: JSON.stringify({ keys: [jwk] }),
  valid: await sign(base),
  keycloak_typ: await sign(base, { typ: 'JWT' }),
  expired: await sign({ ...base, exp: 1700000050 }),
  not_yet: await sign({ ...base, nbf: 1700000500 }),
  other_issuer: await sign({ ...base, iss: 'https://evil.example.test' }),
  other_audience: await sign({ ...base, aud: 'https://other.example.test' }),
  unknown_kid: await sign(base, { kid: 'k2' }),
  id_token_typ: await sign(base, { typ: 'application/id-token+jwt' }),
  hs256: await new jose.SignJWT(base).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' }).sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!')),
  none: new jose.UnsecuredJWT(base).encode(),
};
for (const [k, v] of Object.entries(out)) console.log(`const ${k.toUpperCase()}: &str = ${JSON.stringify(v)};`);
