"""KELI TUTOR in the Service Market: the standard's API around the tutor's own functions."""

import os
import sqlite3
from datetime import UTC, datetime, timedelta

import tutor

from vendorkit.adapter import Activated, Deactivated, SQLStore, StandardAdapter, TenantPurged
from vendorkit.adapter import TenantStatus as Status


def market_adapter(database: str) -> StandardAdapter:
    base_url = os.environ.get("KELI_BASE_URL", "http://127.0.0.1:5000")
    db = lambda: tutor.connect(database)  # noqa: E731
    with db() as c:  # what the tutor never kept: a kept school's deadline, purged schools
        c.execute("CREATE TABLE IF NOT EXISTS market (slug TEXT PRIMARY KEY, deadline TEXT, purged INT)")  # fmt: skip

    def mark(c, slug):
        return c.execute("SELECT * FROM market WHERE slug = ?", (slug,)).fetchone()

    def activate(order):
        limits = {key: order.config[key] for key in ("max_users", "storage_limit_gb")}
        with db() as c:
            row, password = mark(c, order.tenant_id), None
            if (
                order.reactivation and row and row["deadline"]
            ):  # deactivated with its data: back as it was, on the new plan
                tutor.set_disabled(c, order.tenant_id, False)
                tutor.change_plan(c, order.tenant_id, plan=order.plan, **limits)
            else:  # new, purged, or deactivated without its data: created again, empty
                tutor.delete_school(c, order.tenant_id)
                password = tutor.create_school(
                    c, slug=order.tenant_id, name=order.tenant_name, plan=order.plan, **limits,
                    admin_email=order.admin["email"], admin_name=order.admin["name"])  # fmt: skip
            c.execute("DELETE FROM market WHERE slug = ?", (order.tenant_id,))
        return Activated(access_url=f"{base_url}/app/{order.tenant_id}", temp_password=password)

    def deactivate(slug, *, preserve_data, reason, deactivate_at):
        deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(days=90)
        with db() as c:
            tutor.set_disabled(c, slug, True)
            if not preserve_data:
                tutor.drop_school_data(c, slug)
            kept = deadline.isoformat() if preserve_data else None
            c.execute("INSERT OR REPLACE INTO market VALUES (?, ?, 0)", (slug, kept))
        return Deactivated(data_preserved=preserve_data, reactivation_deadline=deadline)

    def status(slug):
        with db() as c:
            school, market = tutor.find_school(c, slug), mark(c, slug)
            if market and market["purged"]:
                raise TenantPurged
            if school is None:
                return None
            total, today = tutor.count_users(c, slug)
        deadline = market and market["deadline"]
        return Status(
            status="deactivated" if school["disabled"] else "active", plan=school["plan"],
            created_at=school["created_at"], users_total=total, users_active_today=today,
            storage_limit_gb=school["storage_limit_gb"], access_url=f"{base_url}/app/{slug}",
            data_preserved=bool(deadline), reactivation_deadline=deadline or None,
        )  # fmt: skip

    def usage(slug, *, month):
        with db() as c:
            report = tutor.school_report(c, slug, month)
        return {"api_calls": report["questions"], "ai_tokens": report["tokens"],
                "storage_gb": 0, "active_users": report["active_users"]}  # fmt: skip

    def update(slug, *, plan, features, config):
        with db() as c:
            tutor.change_plan(c, slug, plan=plan, max_users=config["max_users"],
                              storage_limit_gb=config["storage_limit_gb"])  # fmt: skip

    def delete(slug, *, reason):
        with db() as c:
            tutor.delete_school(c, slug)
            c.execute("INSERT OR REPLACE INTO market VALUES (?, NULL, 1)", (slug,))

    return StandardAdapter(
        activate=activate, deactivate=deactivate, status=status, usage=usage, update=update,
        delete=delete, api_keys=os.environ["MARKET_API_KEY"].split(","),
        signing_secrets=os.environ["MARKET_SIGNING_SECRET"].split(","),
        store=SQLStore(connect=lambda: sqlite3.connect(database, timeout=10)),
    )  # fmt: skip
