// The peer of bench/load.sh: the oidc-provider package (version pinned in package-lock.json), in
// memory (its own memory adapter: an LRU of the last 1,000 artefacts), one process, one client
// allowed client_credentials and introspection, so that it issues tokens and introspects them.
//
//   node bench/peer/peer.js PORT CLIENT_ID CLIENT_SECRET
//
// Prints "ready" once it listens on 127.0.0.1:PORT; stops on SIGTERM.
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const [port, clientId, clientSecret] = process.argv.slice(2);
if (!port || !clientId || !clientSecret) {
  console.error('usage: node peer.js PORT CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}

// A signing key of its own (RS256, as ours), rather than the package's development keys.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', use: 'sig', alg: 'RS256' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    // The default policy, given here so that the package does not warn about it: a client that
    // authenticates may introspect.
    introspection: { enabled: true, allowedPolicy: async () => true },
  },
  ttl: { ClientCredentials: 3600 },
});

provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => process.exit(0));
