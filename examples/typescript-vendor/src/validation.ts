// Field checks of the market's bodies (mirrors docs/standard/schemas/*.request.schema.json).
export interface FieldError {
  field: string;
  message: string;
}
type Body = Record<string, unknown>;

const ISOLATION = ["DATABASE_PER_TENANT", "SCHEMA_PER_TENANT", "DOCKER_PER_TENANT", "SHARED"];
const DEACTIVATE_REASONS = ["subscription_expired", "admin_request", "violation"];
const DELETE_REASONS = ["retention_expired", "admin_request", "violation"];
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
export const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

const isObject = (value: unknown): value is Body =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function text(body: Body, field: string, errors: FieldError[], prefix = ""): void {
  if (!(field in body)) errors.push({ field: prefix + field, message: "is required" });
  else if (typeof body[field] !== "string" || !(body[field] as string).trim())
    errors.push({ field: prefix + field, message: "must be a non-empty string" });
}

function strings(body: Body, field: string, errors: FieldError[]): void {
  const value = body[field];
  if (!(field in body)) errors.push({ field, message: "is required" });
  else if (!Array.isArray(value) || !value.every((item) => typeof item === "string"))
    errors.push({ field, message: "must be a list of strings" });
}

function config(body: Body, errors: FieldError[]): void {
  const value = body.config;
  if (!isObject(value)) {
    errors.push({ field: "config", message: "config" in body ? "must be an object" : "is required" });
    return;
  }
  for (const [key, minimum] of [["max_users", 1], ["storage_limit_gb", 0]] as const) {
    const item = value[key];
    if (!(key in value)) errors.push({ field: `config.${key}`, message: "is required" });
    else if (typeof item !== "number" || !Number.isInteger(item) || item < minimum)
      errors.push({ field: `config.${key}`, message: `must be an integer >= ${minimum}` });
  }
}

function oneOf(body: Body, field: string, allowed: string[], errors: FieldError[], required: boolean): void {
  if (!(field in body)) {
    if (required) errors.push({ field, message: `is required (one of ${allowed.join(", ")})` });
  } else if (!allowed.includes(body[field] as string)) {
    errors.push({ field, message: `must be one of ${allowed.join(", ")}` });
  }
}

function sameTenant(body: Body, tenantId: string, errors: FieldError[]): void {
  if ("tenant_id" in body && body.tenant_id !== tenantId)
    errors.push({ field: "tenant_id", message: "must equal the tenant id in the URL path" });
}

export function checkBody(operation: string, body: Body, tenantId: string): FieldError[] {
  const errors: FieldError[] = [];
  if (operation === "activate") {
    text(body, "tenant_id", errors);
    sameTenant(body, tenantId, errors);
    text(body, "tenant_name", errors);
    text(body, "plan", errors);
    strings(body, "features", errors);
    config(body, errors);
    if (!isObject(body.admin)) {
      errors.push({ field: "admin", message: "admin" in body ? "must be an object" : "is required" });
    } else {
      text(body.admin, "email", errors, "admin.");
      text(body.admin, "name", errors, "admin.");
    }
    oneOf(body, "isolation", ISOLATION, errors, false);
    if ("reactivation" in body && typeof body.reactivation !== "boolean")
      errors.push({ field: "reactivation", message: "must be true or false" });
  } else if (operation === "deactivate") {
    oneOf(body, "reason", DEACTIVATE_REASONS, errors, true);
    if (!("preserve_data" in body)) errors.push({ field: "preserve_data", message: "is required" });
    else if (typeof body.preserve_data !== "boolean")
      errors.push({ field: "preserve_data", message: "must be true or false" });
    if (typeof body.deactivate_at !== "string" || !RFC3339.test(body.deactivate_at))
      errors.push({ field: "deactivate_at", message: "is required (RFC 3339 date-time)" });
    sameTenant(body, tenantId, errors);
  } else if (operation === "update") {
    text(body, "plan", errors);
    strings(body, "features", errors);
    config(body, errors);
    sameTenant(body, tenantId, errors);
  } else {
    oneOf(body, "reason", DELETE_REASONS, errors, true);
    sameTenant(body, tenantId, errors);
  }
  return errors;
}
