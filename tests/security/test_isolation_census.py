"""Promise 7 is proved by the two-organization tests of the API and the portal; this counts them.

The isolation tests themselves are the proof (``tests/api/test_isolation.py``,
``tests/portal/test_isolation.py`` and the monitoring pages' two-school tests); the census makes
sure the proof does not quietly shrink below what ``docs/reliability.md`` states.
"""

from tests.security.isolation_census import DOCUMENTED, collect


def test_the_two_organization_tests_are_at_least_as_many_as_documented(capsys):
    census = collect()
    capsys.readouterr()  # the nested collection's own output

    for area, floor in DOCUMENTED.items():
        assert census[area]["functions"] >= floor["functions"], (area, census[area])
        assert census[area]["cases"] >= floor["cases"], (area, census[area])
    print(census)
