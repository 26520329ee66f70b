"""Page-number pagination for collections; cursor pagination for the append-only logs."""

from rest_framework.pagination import CursorPagination, PageNumberPagination

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class MarketPageNumberPagination(PageNumberPagination):
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE


class NewestFirstCursorPagination(CursorPagination):
    """Stable under inserts: new operations and events never shift the pages a client walks."""

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    ordering = ("-created_at", "-id")

    def get_paginated_response_schema(self, schema):
        # DRF's example cursor links end in a stray quote, which is not a valid URI (Spectral
        # reports it): document links of the shape this API really returns.
        response = super().get_paginated_response_schema(schema)
        for name, cursor in (("next", "cD0yMDI2LTAxLTAz"), ("previous", "cj0xJnA9MjAyNi0wMS0wNQ")):
            response["properties"][name]["example"] = (
                f"https://market.example/api/v1/operations?cursor={cursor}"
            )
        return response
