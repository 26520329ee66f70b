"""The tenant state machine: every transition not written down is refused."""

import pytest

from tenants import states
from tenants.errors import LifecycleError
from tenants.models import Tenant
from tests.support.transitions import transition_pairs

S = Tenant.State
ALL = list(S)
LEGAL, ILLEGAL = transition_pairs(states.TRANSITIONS, ALL)


def test_every_state_has_its_transitions_written_down():
    assert set(states.TRANSITIONS) == set(ALL)


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_an_illegal_transition_raises_and_leaves_the_tenant_as_it_was(current, target):
    tenant = Tenant(state=current, attention_reason="before")
    changed_at = tenant.state_changed_at

    with pytest.raises(LifecycleError) as raised:
        states.move(tenant, target, reason="why")

    assert raised.value.code == "illegal_transition"
    assert str(Tenant.State(current).label) in raised.value.message
    assert tenant.state == current
    assert tenant.state_changed_at == changed_at
    assert tenant.attention_reason == "before"


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_a_legal_transition_moves_and_stamps_the_time(current, target):
    tenant = Tenant(state=current)
    before = tenant.state_changed_at

    states.move(tenant, target, reason="the vendor refused")

    assert tenant.state == target
    assert tenant.state_changed_at >= before
    expected_reason = "the vendor refused" if target == S.NEEDS_ATTENTION else ""
    assert tenant.attention_reason == expected_reason


@pytest.mark.parametrize("state", ALL)
def test_moving_to_the_same_state_changes_nothing(state):
    tenant = Tenant(state=state, attention_reason="kept")

    states.move(tenant, state)

    assert tenant.attention_reason == "kept"


def test_the_illegal_moves_the_lifecycle_relies_on_are_refused():
    # A purged tenant's data is gone: only a new subscription (requested) may follow.
    assert states.TRANSITIONS[S.PURGED] == {S.REQUESTED}
    for current, target in [
        (S.REQUESTED, S.ACTIVE),  # never active without the vendor saying so
        (S.DEACTIVATED, S.ACTIVE),  # reactivation goes through the vendor
        (S.PURGED, S.ACTIVE),
        (S.ACTIVE, S.PURGED),  # purge only after deactivation
        (S.NEEDS_ATTENTION, S.REQUESTED),
    ]:
        assert not states.can_move(current, target), f"{current} -> {target}"
