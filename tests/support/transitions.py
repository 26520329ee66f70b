"""Pairs of states from a transition table, for tests that walk every pair of a state machine."""

import itertools


def transition_pairs(table: dict, states: list) -> tuple[list, list]:
    """(legal, illegal): every (current, target) the table allows, and every other move."""
    pairs = list(itertools.product(states, states))
    legal = [(a, b) for a, b in pairs if b in table[a]]
    illegal = [(a, b) for a, b in pairs if a != b and b not in table[a]]
    return legal, illegal
