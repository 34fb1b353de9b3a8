"""Lineage: edges, depth checks, bounded walks and cycle detection on random DAGs."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from domain.errors import ErrorCode
from domain.lineage import (
    DEFAULT_DEPTH,
    MAX_DEPTH,
    LineageEdge,
    Relation,
    check_depth,
    cycle_error,
    edges_for_inputs,
    walk,
    would_cycle,
)

PROPERTY = settings(max_examples=200, deadline=None, database=None)


def edge(parent: str, child: str) -> LineageEdge:
    return LineageEdge(parent_id=parent, child_id=child)


def steps(edges: Iterable[LineageEdge]) -> tuple[Callable[[str], list[LineageEdge]], Callable[[str], list[LineageEdge]]]:
    """Look-ups for a walk: edges into a node (towards parents) and out of it (towards children)."""
    edges = list(edges)
    return (
        lambda node: [e for e in edges if e.child_id == node],
        lambda node: [e for e in edges if e.parent_id == node],
    )


def test_an_asset_cannot_be_its_own_parent() -> None:
    with pytest.raises(ValueError):
        edge("a", "a")


def test_edge_defaults() -> None:
    e = edge("p", "c")
    assert (e.relation, e.operation_type, e.job_id, e.input_index) == (Relation.INPUT, None, None, 0)


@pytest.mark.parametrize(("depth", "ok"), [(0, False), (1, True), (DEFAULT_DEPTH, True), (50, True), (51, False), (-3, False)])
def test_check_depth_bounds(depth: int, ok: bool) -> None:
    result = check_depth(depth)
    if ok:
        assert result == Success(depth)
    else:
        assert isinstance(result, Failure)
        assert result.failure().code is ErrorCode.VALIDATION_ERROR
        assert result.failure().field == "max_depth"


@PROPERTY
@given(st.integers(-1000, 1000))
def test_check_depth_accepts_exactly_1_to_50(depth: int) -> None:
    assert isinstance(check_depth(depth), Success) is (1 <= depth <= MAX_DEPTH)


def test_edges_for_inputs_one_per_distinct_input_in_order() -> None:
    edges = edges_for_inputs("c", ["b", "a", "b", "c", "a", "d"], "upscale", "j1", Relation.PARENT_JOB)
    assert [(e.parent_id, e.input_index) for e in edges] == [("b", 0), ("a", 1), ("d", 2)]
    assert all(
        (e.child_id, e.operation_type, e.job_id, e.relation) == ("c", "upscale", "j1", Relation.PARENT_JOB)
        for e in edges
    )
    assert edges_for_inputs("c", [], None, None) == []


@PROPERTY
@given(child=st.sampled_from("abcdef"), inputs=st.lists(st.sampled_from("abcdef"), max_size=12))
def test_edges_for_inputs_dedups_and_keeps_order(child: str, inputs: list[str]) -> None:
    edges = edges_for_inputs(child, inputs, "image_to_image", "j1")
    expected = list(dict.fromkeys(i for i in inputs if i != child))
    assert [e.parent_id for e in edges] == expected
    assert [e.input_index for e in edges] == list(range(len(expected)))
    assert all(e.child_id == child and e.relation is Relation.INPUT for e in edges)


def test_walk_respects_depth_and_direction() -> None:
    # a <- b <- c <- d   (a is the oldest ancestor)
    chain = [edge("a", "b"), edge("b", "c"), edge("c", "d")]
    parents, children = steps(chain)
    assert walk("d", parents, True, 1) == [edge("c", "d")]
    assert walk("d", parents, True, 2) == [edge("c", "d"), edge("b", "c")]
    assert walk("d", parents, True, 50) == [edge("c", "d"), edge("b", "c"), edge("a", "b")]
    assert walk("a", children, False, 2) == [edge("a", "b"), edge("b", "c")]
    assert walk("a", parents, True, 10) == []


def test_walk_visits_shared_ancestors_once() -> None:
    # d made from b and c, both made from a
    diamond = [edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d")]
    parents, _ = steps(diamond)
    found = walk("d", parents, True, 10)
    assert sorted((e.parent_id, e.child_id) for e in found) == [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]


def test_cycle_detection_and_error() -> None:
    closing = edge("c", "a")  # a would become a child of its own descendant c
    assert would_cycle(closing, ["b", "a"])
    assert not would_cycle(edge("a", "z"), ["x"])
    error = cycle_error(closing)
    assert error.code is ErrorCode.LINEAGE_CYCLE
    assert "a" in error.detail and "c" in error.detail


# --- properties on random DAGs --------------------------------------------------------------


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[LineageEdge]]:
    """Nodes n0..nk with edges only from lower to higher index: acyclic by construction."""
    size = draw(st.integers(2, 9))
    nodes = [f"n{i}" for i in range(size)]
    pairs = [(i, j) for i in range(size) for j in range(i + 1, size)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs)))
    return nodes, [edge(nodes[i], nodes[j]) for i, j in chosen]


def distances(start: str, neighbours: Callable[[str], list[str]]) -> dict[str, int]:
    dist, queue = {start: 0}, deque([start])
    while queue:
        node = queue.popleft()
        for other in neighbours(node):
            if other not in dist:
                dist[other] = dist[node] + 1
                queue.append(other)
    return dist


def has_cycle(nodes: list[str], edges: list[LineageEdge]) -> bool:
    """Kahn's algorithm: a graph is acyclic iff every node can be removed in topological order."""
    incoming = {n: 0 for n in nodes}
    for e in edges:
        incoming[e.child_id] += 1
    ready = [n for n, count in incoming.items() if count == 0]
    removed = 0
    while ready:
        node = ready.pop()
        removed += 1
        for e in edges:
            if e.parent_id == node:
                incoming[e.child_id] -= 1
                if incoming[e.child_id] == 0:
                    ready.append(e.child_id)
    return removed < len(nodes)


@PROPERTY
@given(dag=dags(), data=st.data(), depth=st.integers(1, 6), towards_parents=st.booleans())
def test_walk_returns_exactly_the_edges_within_max_depth(
    dag: tuple[list[str], list[LineageEdge]], data: st.DataObject, depth: int, towards_parents: bool
) -> None:
    nodes, edges = dag
    start = data.draw(st.sampled_from(nodes))
    parents, children = steps(edges)
    step = parents if towards_parents else children

    def near(e: LineageEdge) -> str:
        return e.child_id if towards_parents else e.parent_id

    def far(node: str) -> list[str]:
        return [e.parent_id if towards_parents else e.child_id for e in step(node)]

    dist = distances(start, far)
    found = walk(start, step, towards_parents, depth)
    assert len(found) == len({(e.parent_id, e.child_id) for e in found})
    # an edge is k away when its near end is k - 1 away from the start
    assert all(near(e) in dist and dist[near(e)] + 1 <= depth for e in found)
    expected = {(e.parent_id, e.child_id) for e in edges if near(e) in dist and dist[near(e)] < depth}
    assert {(e.parent_id, e.child_id) for e in found} == expected


@PROPERTY
@given(dag=dags(), data=st.data())
def test_would_cycle_agrees_with_brute_force(dag: tuple[list[str], list[LineageEdge]], data: st.DataObject) -> None:
    nodes, edges = dag
    parent = data.draw(st.sampled_from(nodes))
    child = data.draw(st.sampled_from([n for n in nodes if n != parent]))
    candidate = edge(parent, child)
    parents, _ = steps(edges)
    ancestors_of_parent = {e.parent_id for e in walk(parent, parents, True, MAX_DEPTH)}
    assert would_cycle(candidate, ancestors_of_parent) is has_cycle(nodes, [*edges, candidate])
