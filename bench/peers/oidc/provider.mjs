// node-oidc-provider as a peer for bench/peers.sh: one confidential client allowed the
// client_credentials grant, authenticating with HTTP Basic; introspection (RFC 7662) on;
// opaque access tokens (no resource indicator, so no JWT format) kept by the library's
// in-memory adapter. No interactive flows and no request log, as flowgate's token path has none
// of the former. peers.sh copies this file next to the node_modules it installed.
// Usage: PORT=18230 BENCH_CLIENT_SECRET=... node provider.mjs
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 18230);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench',
    client_secret: process.env.BENCH_CLIENT_SECRET || 'bench-secret',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  features: {
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // The caller may introspect only its own tokens: the same rule as flowgate's. (Giving a
      // policy also keeps the library from warning that the default one should be changed.)
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    devInteractions: { enabled: false },
    revocation: { enabled: false },
    userinfo: { enabled: false },
  },
  // An hour, as flowgate's access tokens (also keeps the library from noting the default).
  ttl: { ClientCredentials: 3600 },
  // Cookie signing keys are needed only by interactive flows; given so nothing is derived.
  cookies: { keys: ['bench-cookie-key-not-a-secret'] },
});
// Plain HTTP on loopback: nothing sits in front that would set X-Forwarded-*.
provider.proxy = false;

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
