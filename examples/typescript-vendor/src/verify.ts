// Is this request the market's? Authentication, then the signature, then the clock
// (docs/standard/README.md section 2, docs/standard/signing.md).
//
// - RFC 9421 (standard v1.1): label `market` (and `market-previous` while a secret rotates),
//   covering "@method" "@path" "@query" "content-digest" "x-market-request-id", HMAC-SHA256 with
//   the base64-decoded bytes after the secret's `whsec_` prefix; verified with npm
//   `http-message-signatures`, the body checked against the RFC 9530 Content-Digest.
// - Legacy: X-Market-Signature: v1,<base64 HMAC-SHA256(secret as UTF-8, "<id>.<ts>.<body>")>.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createVerifier, httpbis } from "http-message-signatures";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { parseDictionary, serializeDictionary } from "structured-headers";

export const TOLERANCE_SECONDS = 300;
const LABEL = /^market(-previous(-\d+)?)?$/; // market, market-previous, market-previous-2, ...
const COVERED = ["@method", "@path", "@query", "content-digest", "x-market-request-id"];

export class Refused extends Error {
  constructor(
    public code: "unauthorized" | "invalid_signature" | "stale_timestamp",
    message: string,
  ) {
    super(message);
  }
}

export interface Incoming {
  method: string;
  url: string; // absolute, with the raw (still percent-encoded) path and query
  headers: Record<string, string>; // lower-case names
  body: Buffer;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function checkApiKey(presented: string | undefined, keys: string[], header: string): void {
  let matched = false;
  for (const key of keys) matched = sameBytes(Buffer.from(presented ?? ""), Buffer.from(key)) || matched;
  if (!presented || !matched) throw new Refused("unauthorized", `missing or wrong ${header} header`);
}

export function jwtBearerVerifier(options: { jwksUrl: string; issuer: string; audience: string }) {
  const keys = createRemoteJWKSet(new URL(options.jwksUrl));
  return async (authorization: string | undefined): Promise<void> => {
    const [scheme, token] = (authorization ?? "").split(" ");
    if (scheme?.toLowerCase() !== "bearer" || !token) {
      throw new Refused("unauthorized", "missing Authorization: Bearer <token> header");
    }
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ["RS256"],
        requiredClaims: ["exp"],
      });
      if (payload.token_use !== "service") throw new Error("not a service token");
    } catch {
      throw new Refused("unauthorized", "the bearer token is not valid");
    }
  };
}

// The base64-decoded bytes after `whsec_` (either alphabet, padding optional); a secret
// without the prefix (typed by hand for development) is used as its UTF-8 bytes.
function hmacKey(secret: string): Buffer | null {
  if (!secret.startsWith("whsec_")) return Buffer.from(secret, "utf8");
  const key = Buffer.from(secret.slice(6), "base64");
  return key.length ? key : null;
}

function checkContentDigest(value: string | undefined, body: Buffer): void {
  const match = /sha-256=:([A-Za-z0-9+/=]+):/.exec(value ?? "");
  if (!match) throw new Refused("invalid_signature", "the Content-Digest header is missing");
  const digest = createHash("sha256").update(body).digest();
  if (!sameBytes(Buffer.from(match[1], "base64"), digest)) {
    throw new Refused("invalid_signature", "Content-Digest does not match the body");
  }
}

async function verifyRfc9421(request: Incoming, secrets: string[]): Promise<number> {
  checkContentDigest(request.headers["content-digest"], request.body);
  let inputs, signatures;
  try {
    inputs = parseDictionary(request.headers["signature-input"] ?? "");
    signatures = parseDictionary(request.headers["signature"] ?? "");
  } catch {
    throw new Refused("invalid_signature", "malformed Signature or Signature-Input header");
  }
  for (const secret of secrets) {
    const key = hmacKey(secret);
    if (!key) continue;
    for (const [label, input] of inputs) {
      const signature = signatures.get(label);
      if (!LABEL.test(label) || !signature) continue;
      // One label at a time, so a failing market-previous cannot hide behind a good market.
      const headers = {
        ...request.headers,
        "signature-input": serializeDictionary(new Map([[label, input]])),
        signature: serializeDictionary(new Map([[label, signature]])),
      };
      try {
        const valid = await httpbis.verifyMessage(
          {
            keyLookup: async () => ({ id: "market", algs: ["hmac-sha256"], verify: createVerifier(key, "hmac-sha256") }),
            requiredFields: COVERED,
            requiredParams: ["created"],
            notAfter: Date.now() / 1000 + 10 * 365 * 86400, // the window is ours, checked below
          },
          { method: request.method, url: request.url, headers },
        );
        const params = input[1] as Map<string, unknown>;
        if (valid) return Number(params.get("created"));
      } catch {
        // try the next label or secret
      }
    }
  }
  throw new Refused("invalid_signature", "the RFC 9421 signature does not match this request");
}

function verifyLegacy(request: Incoming, secrets: string[]): number {
  const requestId = request.headers["x-market-request-id"];
  const timestamp = request.headers["x-market-timestamp"] ?? "";
  if (!requestId) throw new Refused("invalid_signature", "X-Market-Request-Id header is missing");
  if (!/^\d+$/.test(timestamp)) {
    throw new Refused("invalid_signature", "X-Market-Timestamp must be Unix seconds");
  }
  const candidates = (request.headers["x-market-signature"] ?? "")
    .split(" ")
    .filter((value) => value.startsWith("v1,"))
    .map((value) => Buffer.from(value.slice(3), "base64"));
  if (candidates.length === 0) {
    throw new Refused("invalid_signature", "X-Market-Signature header is missing or holds no v1 value");
  }
  const content = Buffer.concat([Buffer.from(`${requestId}.${timestamp}.`), request.body]);
  let matched = false;
  for (const secret of secrets) {
    const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(content).digest();
    for (const candidate of candidates) matched = sameBytes(expected, candidate) || matched;
  }
  if (!matched) throw new Refused("invalid_signature", "the signature does not match the request id, timestamp and body");
  return Number(timestamp);
}

export async function checkSignature(request: Incoming, secrets: string[], now = Date.now() / 1000): Promise<void> {
  const rfc9421 = "signature-input" in request.headers || "signature" in request.headers;
  if (rfc9421 && !request.headers["x-market-request-id"]) {
    throw new Refused("invalid_signature", "X-Market-Request-Id header is missing");
  }
  const created = rfc9421 ? await verifyRfc9421(request, secrets) : verifyLegacy(request, secrets);
  if (Math.abs(now - created) > TOLERANCE_SECONDS) {
    throw new Refused(
      "stale_timestamp",
      `the request was signed ${Math.round(now - created)} s away from this clock (allowed: ${TOLERANCE_SECONDS} s)`,
    );
  }
}
