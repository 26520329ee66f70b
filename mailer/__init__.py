"""The mail outbox: every e-mail the market sends is a row first, then a worker sends it."""
