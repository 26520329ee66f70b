// A Service Market vendor (standard v1.1) in TypeScript: Express, npm http-message-signatures
// (RFC 9421) and jose (JWT bearer tokens). Run: npm ci && npm start
//
// Environment: PORT (9002), MARKET_API_KEY (comma-separated while rotating),
// MARKET_SIGNING_SECRET (comma-separated while rotating), or for auth.type jwt: MARKET_JWKS_URL,
// MARKET_ISSUER, SERVICE_ID. BASE_URL is where users go (access_url).
import { createHash } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import * as tenants from "./tenants.ts";
import { checkBody, type FieldError, MONTH } from "./validation.ts";
import { checkApiKey, checkSignature, jwtBearerVerifier, Refused } from "./verify.ts";

const VERSION = "1.0.0";
const MAX_BODY_BYTES = 256 * 1024;
const ANSWER_TTL_MS = 73 * 3600_000; // the market retries for 72 hours
const port = Number(process.env.PORT ?? 9002);
const baseUrl = process.env.BASE_URL ?? `http://127.0.0.1:${port}`;
const list = (value: string | undefined) => (value ?? "").split(",").map((item) => item.trim()).filter(Boolean);
const apiKeys = list(process.env.MARKET_API_KEY);
const secrets = list(process.env.MARKET_SIGNING_SECRET);
const bearer = process.env.MARKET_JWKS_URL
  ? jwtBearerVerifier({
      jwksUrl: process.env.MARKET_JWKS_URL,
      issuer: process.env.MARKET_ISSUER ?? "",
      audience: process.env.SERVICE_ID ?? "",
    })
  : null;
if ((!apiKeys.length && !bearer) || !secrets.length) {
  console.error("set MARKET_API_KEY (or MARKET_JWKS_URL) and MARKET_SIGNING_SECRET");
  process.exit(2);
}

interface Answer {
  status: number;
  body: Buffer;
}
const json = (status: number, body: unknown): Answer => ({ status, body: Buffer.from(JSON.stringify(body)) });
const error = (status: number, code: string, message: string, extra: object = {}) =>
  json(status, { error: code, message, ...extra });
const invalid = (problems: FieldError[]) =>
  error(422, "invalid_request", problems.map((p) => `${p.field}: ${p.message}`).join("; "), {
    field: problems[0].field,
    errors: problems,
  });

// Answers by request id, kept 73 hours; a pending entry makes a concurrent duplicate wait.
const answers = new Map<string, { fingerprint: string; answer: Promise<Answer>; expires: number }>();

function send(res: Response, answer: Answer, replayed = false): void {
  if (replayed) res.set("Idempotent-Replayed", "true");
  res.status(answer.status).type("application/json; charset=utf-8").send(answer.body);
}

function gone(id: string, tenant: tenants.Tenant | "purged" | undefined): Answer | null {
  if (tenant === undefined) return error(404, "tenant_not_found", `Tenant ${id} does not exist`);
  if (tenant === "purged") return error(410, "tenant_purged", `Tenant ${id} was purged`);
  return null;
}

function deactivatedBody(tenant: tenants.Tenant) {
  return {
    status: "deactivated",
    tenant_id: tenant.id,
    data_preserved: tenant.dataPreserved,
    reactivation_deadline: tenant.dataPreserved ? tenant.reactivationDeadline : null,
  };
}

function act(operation: string, id: string, body: Record<string, any>): Answer {
  const tenant = tenants.find(id);
  if (operation === "activate") {
    if (typeof tenant === "object" && tenant.state === "active") {
      return error(409, "tenant_already_exists", `Tenant ${id} already exists`);
    }
    const { tempPassword } = tenants.activate(id, body as any);
    const answer: Record<string, unknown> = { status: "activated", tenant_id: id, access_url: `${baseUrl}/app/${encodeURIComponent(id)}` };
    if (tempPassword) answer.admin_credentials = { temp_password: tempPassword };
    return json(200, answer);
  }
  const missing = gone(id, tenant);
  if (missing || typeof tenant !== "object") return missing!;
  if (operation === "deactivate") {
    if (tenant.state !== "deactivated") tenants.deactivate(tenant, body.preserve_data);
    return json(200, deactivatedBody(tenant));
  }
  if (operation === "update") {
    if (tenant.state !== "active") return error(409, "tenant_not_active", `Tenant ${id} is ${tenant.state}`);
    tenant.plan = body.plan;
    tenant.storageLimitGb = body.config.storage_limit_gb;
    return json(200, { status: "updated", tenant_id: id, plan: body.plan });
  }
  tenants.purge(id);
  return json(200, { status: "deleted", tenant_id: id });
}

function status(id: string): Answer {
  const tenant = tenants.find(id);
  const missing = gone(id, tenant);
  if (missing || typeof tenant !== "object") return missing!;
  const body: Record<string, unknown> = {
    tenant_id: id,
    status: tenant.state,
    plan: tenant.plan,
    created_at: tenant.createdAt,
    users: { total: 1, active_today: 0 },
    storage: { used_gb: 0, limit_gb: tenant.storageLimitGb },
    access_url: `${baseUrl}/app/${encodeURIComponent(id)}`,
  };
  if (tenant.state === "deactivated") Object.assign(body, deactivatedBody(tenant), { status: "deactivated" });
  return json(200, body);
}

function usage(id: string, query: Record<string, unknown>): Answer {
  const problems: FieldError[] = [];
  if ((query.period ?? "monthly") !== "monthly") problems.push({ field: "period", message: "must be 'monthly'" });
  const month = typeof query.month === "string" ? query.month : tenants.rfc3339(new Date()).slice(0, 7);
  if (!MONTH.test(month)) problems.push({ field: "month", message: "must be YYYY-MM" });
  if (problems.length) return invalid(problems);
  const tenant = tenants.find(id);
  const missing = gone(id, tenant);
  if (missing || typeof tenant !== "object") return missing!;
  return json(200, {
    tenant_id: id,
    period: month,
    usage: { api_calls: tenant.questions, ai_tokens: tenant.questions * 40, storage_gb: 0, active_users: 1 },
  });
}

const app = express();
app.disable("x-powered-by");

app.get("/mt/health", (_req, res) => {
  send(res, json(200, { status: "healthy", version: VERSION, timestamp: tenants.rfc3339(new Date()) }));
});

const POSTS = new Set(["activate", "deactivate", "update", "delete"]);
const GETS = new Set(["status", "usage"]);

app.all(
  "/mt/tenant/:tenantId/:operation",
  express.raw({ type: () => true, limit: MAX_BODY_BYTES }),
  async (req: Request, res: Response, next: NextFunction) => {
    try {
      const id = String(req.params.tenantId);
      const operation = String(req.params.operation);
      const expected = POSTS.has(operation) ? "POST" : GETS.has(operation) ? "GET" : null;
      if (!expected) return send(res, error(404, "not_found", `no such endpoint: ${req.path}`));
      if (req.method !== expected) {
        res.set("Allow", expected);
        return send(res, error(405, "method_not_allowed", `use ${expected}`));
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
      }
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      try {
        if (bearer) await bearer(headers.authorization);
        else checkApiKey(headers["x-market-api-key"], apiKeys, "X-Market-API-Key");
        await checkSignature(
          { method: req.method, url: `http://${headers.host ?? "localhost"}${req.originalUrl}`, headers, body: raw },
          secrets,
        );
      } catch (refusal) {
        if (refusal instanceof Refused) return send(res, error(401, refusal.code, refusal.message));
        throw refusal;
      }
      if (operation === "status") return send(res, status(id));
      if (operation === "usage") return send(res, usage(id, req.query as Record<string, unknown>));
      let body: unknown;
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        return send(res, error(400, "invalid_request", "the body is not valid JSON"));
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        return send(res, invalid([{ field: "(body)", message: "must be a JSON object" }]));
      }
      const problems = checkBody(operation, body as Record<string, unknown>, id);
      if (problems.length) return send(res, invalid(problems));
      // Exactly once: look up, act, store, with no await in between (one JavaScript thread).
      const key = `${operation}:${id}:${headers["x-market-request-id"]}`;
      const fingerprint = createHash("sha256").update(raw).digest("hex");
      const held = answers.get(key);
      if (held && held.expires > Date.now()) {
        if (held.fingerprint !== fingerprint) {
          return send(res, error(422, "invalid_request", "this X-Market-Request-Id was already used for a different body"));
        }
        return send(res, await held.answer, true);
      }
      const answer = act(operation, id, body as Record<string, any>);
      answers.set(key, { fingerprint, answer: Promise.resolve(answer), expires: Date.now() + ANSWER_TTL_MS });
      return send(res, answer);
    } catch (failure) {
      next(failure);
    }
  },
);

app.use((_req: Request, res: Response) => send(res, error(404, "not_found", "no such endpoint")));

// Errors: a too large body is the market's mistake (413); anything else is ours (500), logged
// here and never shown, so the market retries.
app.use((failure: any, _req: Request, res: Response, _next: NextFunction) => {
  if (failure?.type === "entity.too.large") {
    return send(res, error(413, "invalid_request", `the body is larger than ${MAX_BODY_BYTES} bytes`));
  }
  console.error(failure);
  send(res, error(500, "internal_error", "the service failed; the market will try again"));
});

app.listen(port, "127.0.0.1", () => console.log(`typescript vendor listening on ${baseUrl}`));
