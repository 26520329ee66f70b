// The vendor's own data: tenants in memory (a real service keeps them in its database).
import { randomBytes } from "node:crypto";

export type State = "active" | "deactivated";
export interface Tenant {
  id: string;
  name: string;
  plan: string;
  state: State;
  createdAt: string;
  storageLimitGb: number;
  dataPreserved: boolean;
  reactivationDeadline: string | null;
  questions: number;
}

export const RETENTION_DAYS = 90;
const tenants = new Map<string, Tenant>();
const purged = new Set<string>();

export const rfc3339 = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

export function find(id: string): Tenant | "purged" | undefined {
  return purged.has(id) ? "purged" : tenants.get(id);
}

export function activate(id: string, body: { tenant_name: string; plan: string; config: { storage_limit_gb: number } }) {
  const existing = tenants.get(id);
  if (existing && existing.state === "deactivated" && existing.dataPreserved) {
    Object.assign(existing, { state: "active", plan: body.plan, reactivationDeadline: null });
    existing.storageLimitGb = body.config.storage_limit_gb;
    return { tenant: existing, tempPassword: null };
  }
  purged.delete(id);
  const tenant: Tenant = {
    id,
    name: body.tenant_name,
    plan: body.plan,
    state: "active",
    createdAt: rfc3339(new Date()),
    storageLimitGb: body.config.storage_limit_gb,
    dataPreserved: true,
    reactivationDeadline: null,
    questions: 0,
  };
  tenants.set(id, tenant);
  return { tenant, tempPassword: randomBytes(9).toString("base64url") };
}

export function deactivate(tenant: Tenant, preserveData: boolean): void {
  tenant.state = "deactivated";
  tenant.dataPreserved = preserveData;
  if (!preserveData) tenant.questions = 0;
  tenant.reactivationDeadline = preserveData ? rfc3339(new Date(Date.now() + RETENTION_DAYS * 86400_000)) : null;
}

export function purge(id: string): void {
  tenants.delete(id);
  purged.add(id);
}
