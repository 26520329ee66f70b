"""The tenant lifecycle's operations: every call the market owes a vendor, from request to outcome.

Read in this order (imports only point down this list; tenants/tasks.py sits on top):
- `calendar.py`, `reconcile.py`: what beat starts (expiry notices, expiry, purge; re-dispatch of
  due and stuck operations; the hourly status sync). They read, and write only through services.
- `services.py`: the writes every entry point calls (subscribe, renew, cancel, change plan,
  deactivate, purge, staff retry/cancel, ...). Each writes its operation in the same transaction
  (the outbox) and dispatches it after commit.
- `apply.py`: one attempt, `operation_execute`: claim, call, then the outcome table.
- `claim.py`: due, first of its tenant, within the service's cap (slots handed on when freed).
- `call.py`: the vendor call through the one vendor client.
- `retry.py`: when to try again. `payloads.py`: the bodies sent. `subscription_input.py`: the
  one check of a subscription's terms (subscribe, renew, plan change), every problem at once.
- `dispatch.py`: ids to the worker after commit (the task by its registered name).
- `states.py`: the operation state machine (`TRANSITIONS`, `operation_move`) and the state a
  tenant shows while an operation runs; the tenant's own machine is `tenants/states.py`.
"""
