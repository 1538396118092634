"""The Parquet reader's JSON text of a record column is the JSON export's, on the values
where its fast path (``to_json`` with the null members taken out, fields null in every row
pruned by the footers' statistics) must give way to the slow one: a string holding "null",
a record of null fields only, a null list element, an empty list, and a field that is null
in one file of a batch but not in the other."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.sources import ga4, ga4_parquet

PARAM = ("struct(key varchar, value struct(string_value varchar, int_value bigint, float_value double, "
         "double_value double))")
DEVICE = "struct(category varchar, vendor_id varchar, web_info struct(browser varchar, hostname varchar))"


def _write(con: duckdb.DuckDBPyConnection, path: Path, rows: list[tuple[str, str]]) -> None:
    values = ", ".join(f"({params}, {device})" for params, device in rows)
    con.execute(f"copy (select '20250101' as event_date, 1735689600000000 + row_number() over () "
                f"as event_timestamp, p::{PARAM}[] as event_params, d::{DEVICE} as device "
                f"from (values {values}) v(p, d)) to '{path}' (format parquet)")


def _lit(value: str | float | None) -> str:
    if value is None:
        return "null"
    return "'" + value.replace("'", "''") + "'" if isinstance(value, str) else repr(value)


def _param(key: str, string: str | None = None, integer: int | None = None,
           double: float | None = None) -> str:
    return (f"{{'key': {_lit(key)}, 'value': {{'string_value': {_lit(string)}, "
            f"'int_value': {_lit(integer)}, 'float_value': null, 'double_value': {_lit(double)}}}}}")


def test_record_text_on_the_fast_paths_edges(tmp_path):
    con = duckdb.connect()
    first, second = tmp_path / "events_20250101-000000000000.parquet", \
        tmp_path / "events_20250101-000000000001.parquet"
    web = "{'category': 'desktop', 'vendor_id': null, 'web_info': {'browser': 'Chrome', 'hostname': null}}"
    _write(con, first, [
        ("[" + _param("page", string='a "b" é') + ", " + _param("n", integer=5) + "]", web),
        (f"[{_param('nullable', string='null')}]", "null"),
        (f"[{_param('empty')}]", "{'category': null, 'vendor_id': null, 'web_info': null}"),
        (f"[null, {_param('after_null', integer=1)}]", web),
        ("[]", web),
    ])
    # the second file of the batch has a double_value: not pruned for the first either
    _write(con, second, [(f"[{_param('ratio', double=0.5)}]", web)])
    batch = [("20250101", str(first)), ("20250101", str(second))]
    rows, quarantined, columns = ga4_parquet.parse_batch(
        con, batch, [str(first), str(second)], tmp_path, ga4._Drift(set(), str))
    assert quarantined == []
    assert columns["event_params"] == columns["device"] == "JSON"
    assert rows.column("event_params").to_pylist() == [
        '[{"key":"page","value":{"string_value":"a \\"b\\" é"}},{"key":"n","value":{"int_value":5}}]',
        '[{"key":"nullable","value":{"string_value":"null"}}]',
        '[{"key":"empty","value":{}}]',
        '[{"key":"after_null","value":{"int_value":1}}]',
        None,
        '[{"key":"ratio","value":{"double_value":0.5}}]',
    ]
    chrome = '{"category":"desktop","web_info":{"browser":"Chrome"}}'
    assert rows.column("device").to_pylist() == [chrome, None, "{}", chrome, chrome, chrome]
    # the slow path's text (every field, list_transform) is the same, row for row
    kind = con.sql(f"select * from read_parquet(['{first}', '{second}'])").types
    reference = con.sql(
        f"select {ga4_parquet.json_sql('event_params', kind[2])}, "
        f"{ga4_parquet.json_sql('device', kind[3])} from read_parquet(['{first}', '{second}'])"
    ).fetchall()
    assert reference == list(zip(rows.column("event_params").to_pylist(),
                                 rows.column("device").to_pylist(), strict=True))
