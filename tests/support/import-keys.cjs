// Reads each .env given on the command line with the npm `dotenv` package (what Logto's CLI
// uses), takes OIDC_PRIVATE_KEYS the way `logto db seed` does (split on `,`, trim, drop
// empties; a value without `-` is base64) and imports every key the way Logto core does
// (`crypto.createPrivateKey`, then a JWK export). Prints one JSON array: per file, per key,
// what Node made of it. Any failure exits non-zero with the reason.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const dotenv = require('dotenv');

const result = process.argv.slice(2).map((file) => {
  const env = dotenv.parse(fs.readFileSync(file));
  const raw = env.OIDC_PRIVATE_KEYS;
  if (!raw) throw new Error(`${file}: no OIDC_PRIVATE_KEYS`);
  const keys = raw
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
    .map((k) => (k.includes('-') ? k : Buffer.from(k, 'base64').toString('utf8')));
  return keys.map((pem) => {
    const key = crypto.createPrivateKey(pem);
    const details = key.asymmetricKeyDetails;
    const jwk = key.export({ format: 'jwk' });
    return {
      file,
      type: key.asymmetricKeyType,
      bits: details.modulusLength ?? null,
      curve: details.namedCurve ?? null,
      kty: jwk.kty,
      pem,
    };
  });
});
process.stdout.write(JSON.stringify(result));
