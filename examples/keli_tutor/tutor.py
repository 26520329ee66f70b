"""KELI TUTOR: an AI learning tutor for schools, as it ran before the Service Market.

A small Flask application with its own schools, users and questions in SQLite. Staff create a
school from the command line (``flask --app tutor create-school ...``); its users sign in and
ask the tutor questions. Nothing here knows about the market.

    flask --app tutor run --port 5000
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
from datetime import UTC, datetime

import click
from flask import Flask, abort, jsonify, request

SCHEMA = """
CREATE TABLE IF NOT EXISTS schools (
    slug TEXT PRIMARY KEY, name TEXT NOT NULL, plan TEXT NOT NULL,
    max_users INTEGER NOT NULL, storage_limit_gb INTEGER NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, school TEXT NOT NULL, email TEXT NOT NULL, name TEXT NOT NULL,
    password_hash TEXT NOT NULL, is_admin INTEGER NOT NULL DEFAULT 0, last_seen TEXT,
    UNIQUE (school, email));
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY, school TEXT NOT NULL, user_id INTEGER NOT NULL,
    text TEXT NOT NULL, tokens INTEGER NOT NULL, asked_at TEXT NOT NULL);
"""


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=10)
    connection.row_factory = sqlite3.Row
    return connection


def hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 100_000).hex()
    return f"{salt}${digest}"


# -- what the staff and the pages use ---------------------------------------------------------


def create_school(db, *, slug, name, plan, max_users, storage_limit_gb, admin_email, admin_name):
    """Create a school and its first admin; returns the admin's temporary password."""
    password = secrets.token_urlsafe(9)
    db.execute(
        "INSERT INTO schools (slug, name, plan, max_users, storage_limit_gb, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (slug, name, plan, max_users, storage_limit_gb, now()),
    )
    db.execute(
        "INSERT INTO users (school, email, name, password_hash, is_admin) VALUES (?, ?, ?, ?, 1)",
        (slug, admin_email, admin_name, hash_password(password)),
    )
    return password


def find_school(db, slug):
    return db.execute("SELECT * FROM schools WHERE slug = ?", (slug,)).fetchone()


def set_disabled(db, slug, disabled):
    db.execute("UPDATE schools SET disabled = ? WHERE slug = ?", (int(disabled), slug))


def change_plan(db, slug, *, plan, max_users, storage_limit_gb):
    db.execute(
        "UPDATE schools SET plan = ?, max_users = ?, storage_limit_gb = ? WHERE slug = ?",
        (plan, max_users, storage_limit_gb, slug),
    )


def drop_school_data(db, slug):
    """Erase a school's users and questions (a data-deletion request); the school stays."""
    db.execute("DELETE FROM questions WHERE school = ?", (slug,))
    db.execute("DELETE FROM users WHERE school = ?", (slug,))


def delete_school(db, slug):
    drop_school_data(db, slug)
    db.execute("DELETE FROM schools WHERE slug = ?", (slug,))


def school_report(db, slug, month):
    """Questions, tokens and active users of one school in one month (``YYYY-MM``)."""
    row = db.execute(
        "SELECT COUNT(*) AS questions, COALESCE(SUM(tokens), 0) AS tokens,"
        " COUNT(DISTINCT user_id) AS users FROM questions WHERE school = ? AND asked_at LIKE ?",
        (slug, month + "%"),
    ).fetchone()
    return {"questions": row["questions"], "tokens": row["tokens"], "active_users": row["users"]}


def count_users(db, slug):
    today = now()[:10]
    row = db.execute(
        "SELECT COUNT(*) AS total, SUM(last_seen LIKE ?) AS today FROM users WHERE school = ?",
        (today + "%", slug),
    ).fetchone()
    return row["total"], row["today"] or 0


# -- the web application ----------------------------------------------------------------------


def create_app(database: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config["DATABASE"] = database or os.environ.get("KELI_DB", "keli_tutor.sqlite3")
    with connect(app.config["DATABASE"]) as db:
        db.executescript(SCHEMA)
    if os.environ.get("MARKET_API_KEY"):  # listed in the Service Market: serve its standard API
        from market_api import market_adapter

        from vendorkit.adapter import StandardWSGIMiddleware

        adapter = market_adapter(app.config["DATABASE"])
        app.wsgi_app = StandardWSGIMiddleware(app.wsgi_app, adapter)

    def db():
        return connect(app.config["DATABASE"])

    @app.get("/app/<slug>")
    def school_home(slug):
        with db() as connection:
            school = find_school(connection, slug)
        if school is None or school["disabled"]:
            abort(404)
        return f"<h1>KELI TUTOR</h1><p>{school['name']} ({school['plan']})</p>"

    @app.post("/app/<slug>/ask")
    def ask(slug):
        email = request.authorization.username if request.authorization else ""
        with db() as connection:
            user = connection.execute(
                "SELECT u.id FROM users u JOIN schools s ON s.slug = u.school"
                " WHERE u.school = ? AND u.email = ? AND s.disabled = 0",
                (slug, email),
            ).fetchone()
            if user is None:
                abort(403)
            text = (request.get_json(silent=True) or {}).get("question", "")
            tokens = 20 + len(text.split()) * 3
            connection.execute(
                "INSERT INTO questions (school, user_id, text, tokens, asked_at) VALUES (?, ?, ?, ?, ?)",
                (slug, user["id"], text, tokens, now()),
            )
            connection.execute("UPDATE users SET last_seen = ? WHERE id = ?", (now(), user["id"]))
        return jsonify(answer=f"Let's think about '{text}' step by step.", tokens=tokens)

    @app.cli.command("create-school")
    @click.argument("slug")
    @click.argument("name")
    @click.option("--plan", default="basic")
    @click.option("--admin-email", required=True)
    def create_school_command(slug, name, plan, admin_email):
        with db() as connection:
            password = create_school(
                connection,
                slug=slug,
                name=name,
                plan=plan,
                max_users=100,
                storage_limit_gb=10,
                admin_email=admin_email,
                admin_name="Admin",
            )
        click.echo(f"created {slug}; admin password {password}")

    return app
