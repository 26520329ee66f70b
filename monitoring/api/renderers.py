"""CSV for statements (`?format=csv`, `Accept: text/csv` or `/statements/{id}.csv`)."""

from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    """Renders text a view already made CSV (monitoring.billing.statement_csv), as the portal does."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return str(data).encode(self.charset)
