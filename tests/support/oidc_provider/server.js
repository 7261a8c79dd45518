// A real OpenID provider for selfcare's single sign-on tests: panva's oidc-provider (OpenID
// Certified) on 127.0.0.1, configured from the environment. Not for production use.
//
//   OIDC_PORT                      port to listen on (required; 127.0.0.1 only)
//   OIDC_CLIENTS                   JSON array of clients: [{"client_id", "client_secret",
//                                  "redirect_uris": [...], "post_logout_redirect_uris": [...]}]
//   OIDC_RESOURCES                 space-separated resource indicators (audiences of JWT access
//                                  tokens), each with the scopes "read write"
//   OIDC_ACCESS_TOKEN_TTL          seconds an access token lives (default 3600)
//   OIDC_ID_TOKEN_TTL              seconds an ID token lives (default 3600)
//
// Accounts: any login name with any password is an account (oidc-provider's development
// interactions); its `sub` and `preferred_username` are the login name, its verified e-mail
// address `<login>@example.test`.
//
// Key rotation: `POST /__test/rotate-keys` replaces the signing key set with a new RSA key (a
// new `kid`); the old key is no longer published. Answers with the new kid.
//
// Prints `listening <issuer>` on standard output once it accepts connections. With
// OIDC_EXIT_WITH_STDIN set it exits when its standard input closes (the test that started it
// ended, however it ended).

import crypto from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number.parseInt(process.env.OIDC_PORT ?? '', 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('OIDC_PORT: a port number is required');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const seconds = (name, fallback) => {
  const value = Number.parseInt(process.env[name] ?? `${fallback}`, 10);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`${name}: a number of seconds is required`);
    process.exit(2);
  }
  return value;
};
const accessTokenTtl = seconds('OIDC_ACCESS_TOKEN_TTL', 3600);
const idTokenTtl = seconds('OIDC_ID_TOKEN_TTL', 3600);
const clients = JSON.parse(process.env.OIDC_CLIENTS ?? '[]').map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...c,
}));
const resources = new Set((process.env.OIDC_RESOURCES ?? '').split(/\s+/).filter(Boolean));
// Cookies of the provider's own session stay valid across a key rotation.
const cookieKeys = [crypto.randomBytes(32).toString('hex')];

function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };
}

function makeProvider(signingKey) {
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [signingKey] },
    cookies: { keys: cookieKeys },
    pkce: { required: () => true },
    claims: {
      openid: ['sub'],
      profile: ['preferred_username'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'profile', 'email', 'read', 'write'],
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            preferred_username: id,
            email: `${id}@example.test`,
            email_verified: true,
          };
        },
      };
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx, indicator) {
          if (!resources.has(indicator)) {
            throw new Provider.errors.InvalidTarget();
          }
          return {
            scope: 'read write',
            audience: indicator,
            accessTokenFormat: 'jwt',
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // The subscriber's name goes into access tokens too, so a resource server can link by it.
    async extraTokenClaims(_ctx, token) {
      if (!token.accountId) return undefined;
      return {
        preferred_username: token.accountId,
        email: `${token.accountId}@example.test`,
        email_verified: true,
      };
    },
    ttl: {
      AccessToken: accessTokenTtl,
      IdToken: idTokenTtl,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  });
  return provider;
}

let signingKey = newSigningKey();
let current = makeProvider(signingKey).callback();

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/__test/rotate-keys') {
    signingKey = newSigningKey();
    current = makeProvider(signingKey).callback();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(signingKey.kid);
    return;
  }
  current(req, res);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});

if (process.env.OIDC_EXIT_WITH_STDIN) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
