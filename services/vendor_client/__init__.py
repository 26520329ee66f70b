"""The only way the market talks to vendor services, built on ``market.lib.outbound``.

- ``client``: ``VendorClient`` / ``VendorTarget`` / ``VendorResponse``: every standard call,
  signed (``signing``), authenticated, bounded, faults turned into data.
- ``urls``: the one builder of the standard's URLs (``standard_url``, ``endpoint_url``).
- ``answer_urls``: the one check of every URL a vendor's answer carries (https, or http on a
  development host), applied by the client to every answer.
- ``probe``: the health prober (``probe_all``, ``probe_all_sync``), a fast asyncio transport on
  the same guard (``market.lib.outbound.guard``).
- ``kit_transport``: the conformance kit's transport on the same session policy and exchange.
- ``jwt_keys``: the market's RS256 keys, the JWKS and the tokens it issues to vendors.

The private-address guard and the guarded transport live in ``market.lib.outbound``; import
them from there. Nothing else in the market imports an HTTP client.
"""
