"""The shells on top of every app: the school's and the vendor's pages, the dashboards, the API root.

Nothing below imports this app; it may import every one of them (see docs/architecture.md).
"""
