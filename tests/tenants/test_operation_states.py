"""The operation state machine: every write of an operation's state follows the table."""

import pytest
from django.utils import timezone
from django.utils.translation import override

from tenants import states as tenant_states
from tenants.errors import LifecycleError
from tenants.models import Operation, Tenant
from tenants.operations import states
from tests.factories import TenantFactory
from tests.support.transitions import transition_pairs

OS = Operation.State
K = Operation.Kind
S = Tenant.State
ALL = list(OS)
LEGAL, ILLEGAL = transition_pairs(states.TRANSITIONS, ALL)


def test_every_operation_state_has_its_transitions_written_down():
    assert set(states.TRANSITIONS) == set(ALL)
    assert states.TRANSITIONS[OS.SUCCEEDED] == frozenset()
    assert states.TRANSITIONS[OS.CANCELLED] == frozenset()


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}->{b}" for a, b in ILLEGAL])
def test_an_illegal_operation_move_raises_and_leaves_it_as_it_was(current, target):
    operation = Operation(state=current, finished_at=None)

    with override("en"):
        with pytest.raises(LifecycleError) as raised:
            states.operation_move(operation, target)
        expected = f"An operation cannot go from {OS(current).label} to {OS(target).label}."

    assert raised.value.code == "illegal_transition"
    assert raised.value.message == expected
    assert (operation.state, operation.finished_at) == (current, None)


def test_the_illegal_move_message_is_korean_by_default():
    with override("ko"), pytest.raises(LifecycleError) as raised:
        states.operation_move(Operation(state=OS.SUCCEEDED), OS.QUEUED)
    assert "바뀔 수 없습니다" in raised.value.message


@pytest.mark.parametrize(("current", "target"), LEGAL, ids=[f"{a}->{b}" for a, b in LEGAL])
def test_a_legal_operation_move_sets_finished_at_only_for_a_final_state(current, target):
    operation = Operation(state=current, finished_at=timezone.now())

    states.operation_move(operation, target)

    assert operation.state == target
    assert (operation.finished_at is not None) == (target in states.FINISHED_STATES)


@pytest.mark.django_db
def test_a_bulk_move_leaves_rows_whose_state_may_not_go_there():
    tenant = TenantFactory()
    rows = {
        state: Operation.objects.create(tenant=tenant, kind=K.ACTIVATE, state=state)
        for state in (OS.QUEUED, OS.FAILED, OS.SUCCEEDED, OS.CANCELLED)
    }

    moved = states.operations_move(Operation.objects.filter(tenant=tenant), OS.CANCELLED)

    assert moved == 1
    after = {state: Operation.objects.get(pk=row.pk) for state, row in rows.items()}
    assert after[OS.QUEUED].state == OS.CANCELLED
    assert after[OS.QUEUED].finished_at is not None
    assert after[OS.FAILED].state == OS.FAILED  # failed may only be queued again
    assert after[OS.SUCCEEDED].state == OS.SUCCEEDED
    assert after[OS.CANCELLED].finished_at is None  # already cancelled: not touched again


# What the claim did before the map was written once (executor.TRANSITIONAL), and what a staff
# retry did for a tenant that needs attention: the one map must give the same answers.
EARLIER_CLAIM_MAP = {
    K.ACTIVATE: {S.REQUESTED: S.ACTIVATING, S.NEEDS_ATTENTION: S.ACTIVATING},
    K.DEACTIVATE: {
        S.ACTIVE: S.DEACTIVATING,
        S.UPDATING: S.DEACTIVATING,
        S.NEEDS_ATTENTION: S.DEACTIVATING,
    },
    K.UPDATE: {S.ACTIVE: S.UPDATING, S.NEEDS_ATTENTION: S.UPDATING},
    K.DELETE: {S.DEACTIVATED: S.PURGING, S.NEEDS_ATTENTION: S.PURGING},
}


@pytest.mark.parametrize("kind", list(K))
def test_the_tenant_state_during_an_operation_is_the_one_written_down(kind):
    for current in S:
        expected = EARLIER_CLAIM_MAP.get(kind, {}).get(current)
        assert states.tenant_state_during(kind, current) == expected, (kind, current)
        if expected:
            assert tenant_states.can_move(current, expected)
