"""A raw table's fingerprint follows its rows, not dlt's reloads; the record is kept per warehouse."""

from __future__ import annotations

import duckdb

from orchestration import build_inputs


def _table(con: duckdb.DuckDBPyConnection, rows: list[tuple], load_id: str) -> str:
    con.execute("create or replace table raw_x.t (id varchar, amount bigint, meta json, "
                "_dlt_load_id varchar, _dlt_id varchar, _dlt_list_idx bigint)")
    con.executemany("insert into raw_x.t values (?, ?, ?, ?, ?, ?)",
                    [(*row, load_id, f"{load_id}-{i}", i) for i, row in enumerate(rows)])
    return build_inputs.table_fingerprint(con, "raw_x", "t")


def test_a_reload_of_the_same_rows_keeps_the_fingerprint_and_any_change_moves_it():
    con = duckdb.connect()
    con.execute("create schema raw_x")
    rows = [("a", 1, '{"k": 1}'), ("b", 2, None)]
    first = _table(con, rows, "1700000000.1")
    assert first.startswith("2:")
    assert _table(con, list(reversed(rows)), "1700000900.2") != first  # list positions are content
    assert _table(con, rows, "1700000900.2") == first  # new load ids, same rows
    assert _table(con, [("a", 1, '{"k": 2}'), ("b", 2, None)], "3") != first  # a nested value
    assert _table(con, [*rows, rows[0]], "3") != first  # a duplicated row counts
    assert build_inputs.table_fingerprint(con, "raw_x", "missing") == "absent"


def test_the_record_is_replaced_by_each_build_and_compared_input_by_input():
    con = duckdb.connect()
    assert build_inputs.recorded(con) is None  # a warehouse built before the record
    build_inputs.record(con, {"project": "p1", "source.a": "1:5", "source.b": "2:7"}, "run-1")
    build_inputs.record(con, {"project": "p1", "source.a": "1:5", "source.b": "2:8"}, "run-2")
    before = build_inputs.recorded(con)
    assert before.run_id == "run-2" and before.inputs["source.b"] == "2:8"
    now = {"project": "p1", "source.a": "1:6", "source.b": "2:8"}
    assert build_inputs.changed_inputs(now, before) == {"source.a"}
    assert build_inputs.changed_inputs(now, None) == set(now)


def test_stale_nodes_follow_the_graph_and_a_changed_project_is_everything():
    manifest = {
        "sources": {"source.a": {}, "source.b": {}},
        "nodes": {"model.x": {}, "model.y": {}, "model.z": {}, "test.t": {}},
        "child_map": {"source.a": ["model.x"], "source.b": ["model.y"], "model.x": ["model.z", "test.t"],
                      "model.y": ["model.z"]},
        "parent_map": {"model.x": ["source.a"], "model.y": ["source.b"], "model.z": ["model.x", "model.y"],
                       "test.t": ["model.x"]},
    }
    assert build_inputs.stale_nodes(manifest, {"source.b"}) == {"source.b", "model.y", "model.z"}
    assert build_inputs.stale_nodes(manifest, {"source.a"}) == {"source.a", "model.x", "model.z", "test.t"}
    assert build_inputs.stale_nodes(manifest, {"project"}) == {"source.a", "source.b", "model.x", "model.y",
                                                               "model.z", "test.t"}
    depth = build_inputs.depths(manifest)
    assert depth["model.x"] < depth["model.z"] and depth["model.y"] < depth["model.z"]
