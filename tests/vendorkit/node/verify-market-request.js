// Verify a Service Market request (standard v1.1) in Node with the npm package
// `http-message-signatures` (RFC 9421) and Node's own crypto (RFC 9530 Content-Digest).
// docs/standard/signing.md shows this file; tests/vendorkit/test_signing_vectors.py runs it on
// the published test vectors and on live market requests.
//
// Input on stdin (JSON): {"secrets": ["whsec_..."], "now": <unix s, optional>,
//   "requests": [{"method", "url", "headers": {...}, "body_base64"}]}
// Output on stdout (JSON): [{"ok": true, "keyid": "..."} | {"ok": false, "error": "..."}]
'use strict';
const crypto = require('node:crypto');
const { httpbis, createVerifier } = require('http-message-signatures');

const TOLERANCE_SECONDS = 300;
const COVERED = ['@method', '@path', '@query', 'content-digest', 'x-market-request-id'];

// The HMAC key: the base64 after "whsec_" (Buffer reads both base64 alphabets, padding optional).
function hmacKey(secret) {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

// The keyid the market puts in Signature-Input: "mk_" + 16 hex digits of SHA-256(secret).
function keyId(secret) {
  return 'mk_' + crypto.createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16);
}

async function verifyMarketRequest({ method, url, headers, body }, secrets, now) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  // 1. The body's digest (the signature covers the Content-Digest header, not the body).
  const digest = 'sha-256=:' + crypto.createHash('sha256').update(body).digest('base64') + ':';
  if (lower['content-digest'] !== digest) throw new Error('Content-Digest does not match the body');
  // 2. The signature made with one of our secrets (found by its keyid).
  const keys = new Map(secrets.map((s) => [keyId(s), hmacKey(s)]));
  let created = null;
  let usedKey = null;
  const verified = await httpbis.verifyMessage({
    requiredFields: COVERED,
    requiredParams: ['created', 'keyid'],
    async keyLookup(params) {
      const key = keys.get(params.keyid);
      if (!key) return null; // another secret's signature (rotation): not ours to check
      created = Math.floor(params.created.getTime() / 1000);
      usedKey = params.keyid;
      return { id: params.keyid, algs: ['hmac-sha256'], verify: createVerifier(key, 'hmac-sha256') };
    },
  }, { method, url, headers: lower });
  if (verified !== true) throw new Error('no valid signature made with a known secret');
  // 3. Fresh: created within 300 s of our clock.
  if (Math.abs(now - created) > TOLERANCE_SECONDS) throw new Error('stale_timestamp');
  return usedKey;
}

async function main() {
  const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
  const now = input.now ?? Math.floor(Date.now() / 1000);
  const results = [];
  for (const request of input.requests) {
    try {
      const body = Buffer.from(request.body_base64 || '', 'base64');
      results.push({ ok: true, keyid: await verifyMarketRequest({ ...request, body }, input.secrets, now) });
    } catch (error) {
      results.push({ ok: false, error: String(error.message || error) });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => { console.error(error); process.exit(2); });
