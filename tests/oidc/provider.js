// A real OpenID Connect provider (panva/oidc-provider) for the LMS's single sign-on tests.
//
// Started by tests/auth/oidc_server.py with two environment variables:
//   PORT              the port to listen on (127.0.0.1 only; the issuer is http://127.0.0.1:PORT)
//   OIDC_TEST_CONFIG  JSON {"clients": [client metadata...], "accounts": {"<sub>": {claims...}}}
// Sign-in uses the library's development interactions (an HTML form: any known account id as the
// login, any password); consent is granted silently so a test follows only plain redirects.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const { clients, accounts } = JSON.parse(process.env.OIDC_TEST_CONFIG);

// A fresh signing key per run instead of the library's published development key.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', kid: `test-${port}` };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: ['lms-sso-test-cookie-key'] },
  // The NIP and OPD travel with the profile scope, as a regional IdP (e.g. Keycloak mappers)
  // would put them; in the code flow they reach the LMS through the userinfo endpoint.
  claims: {
    openid: ['sub'],
    profile: ['name', 'nip', 'opd'],
    email: ['email', 'email_verified'],
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 60,
    IdToken: 600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) {
      return undefined;
    }
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...claims };
      },
    };
  },
  // First-party test clients: grant the requested scopes without a consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.params.scope);
    await grant.save();
    return grant;
  },
});

provider.listen(port, '127.0.0.1');
