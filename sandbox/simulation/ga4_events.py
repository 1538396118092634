"""GA4 events from sessions, written as the BigQuery export: one gzipped NDJSON file a day.

Sessions expand into events with numpy (no per-event Python); DuckDB then builds the
export's nested records (``event_params`` as key / typed-value structs, ``device``, ``geo``,
``traffic_source``, ``collected_traffic_source``) and writes the files.

Layouts (``layout=``), because users get files from BigQuery's ``EXPORT DATA`` or scheduled
exports, which shard a day's table into several files:
- ``daily`` (the default): ``events_YYYYMMDD.json.gz``, one a day.
- ``json-shards``: ``events_YYYYMMDD-000000000000.json.gz``, ``...-000000000001.json.gz``, ...
  (:data:`SHARDS_PER_DAY` a day, consecutive runs of the day's rows in the daily file's order).
- ``parquet-shards``: the same shards as ``.parquet`` with the BigQuery table's own nested
  types (``sandbox.bigquery_api.GA4_SCHEMA``: REPEATED RECORD -> list of struct, RECORD ->
  struct, every export column present, null where the simulation has no value), as EXPORT DATA
  ``format = 'PARQUET'`` writes them.
"""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from sandbox.simulation import catalog
from sandbox.simulation.clock import DAY
from sandbox.simulation.visitors import SOURCES, Pseudos, Sessions

EVENT_NAMES = ("first_visit", "session_start", "login", "page_view", "sign_up", "activated",
               "feature_used", "scroll", "user_engagement")
SITE = "https://www.northstar-demo.io"
#: Share of events that reach the export one or two days late (GA4 keeps accepting them).
LATE_SHARE = (0.03, 0.01)
_BATCH_DAYS = 31
LAYOUTS = ("daily", "json-shards", "parquet-shards")
SHARDS_PER_DAY = 3
_ORDER = "event_timestamp, user_pseudo_id, _pos"


@dataclass
class Ga4Output:
    files: int
    events: int  # valid events across all files
    malformed_lines: int
    events_by_day: dict[str, int]


def expand_events(sessions: Sessions, as_of_ts: int) -> pa.Table:
    """One row per event visible at as-of, with codes the SQL turns into the export's records."""
    order = np.lexsort((sessions.start, sessions.pseudo))
    s = sessions.take(order)
    first_of_pseudo = np.r_[True, s.pseudo[1:] != s.pseudo[:-1]]
    run_start = np.maximum.accumulate(np.where(first_of_pseudo, np.arange(len(s)), 0))
    session_number = np.arange(len(s)) - run_start + 1

    # per-session event layout: cumulative boundaries of each event kind
    counts = np.stack([
        (session_number == 1).astype(np.int64), np.ones(len(s), np.int64), s.login.astype(np.int64),
        s.pageviews.astype(np.int64), s.signup.astype(np.int64), s.activation.astype(np.int64),
        s.features.astype(np.int64), s.scrolls.astype(np.int64), np.ones(len(s), np.int64),
    ], axis=1)
    bounds = np.cumsum(counts, axis=1)
    n_events = bounds[:, -1]
    session = np.repeat(np.arange(len(s)), n_events)
    pos = np.arange(len(session)) - np.repeat(bounds[:, -1].cumsum() - n_events, n_events)
    name = (pos[:, None] >= bounds[session]).sum(axis=1).astype(np.int8)

    ts_us = s.start[session] * 1_000_000 + pos * 30_000_000 + _event_jitter(s.start[session], pos)
    late = _event_delay(s.start[session], pos)
    # identity and traffic-source events arrive on time, so what the truth knows is observable
    landing = pos <= bounds[session, 2]  # events up to and including the first page_view
    late[(name == EVENT_NAMES.index("login")) | (name == EVENT_NAMES.index("sign_up")) | landing] = 0
    visible = (ts_us + late * DAY * 1_000_000) < as_of_ts * 1_000_000

    trigger = np.where(s.login, bounds[:, 1], bounds[:, 3])  # position of login / sign_up
    user_from_pos = np.where(s.user_from == 0, 0, np.where(s.user_from == 1, trigger, 1 << 30))
    has_user = (s.user[session] >= 0) & (pos >= user_from_pos[session])
    page = _page_codes(s.start[session], pos, s.user[session] >= 0)
    feature = _feature_codes(s.start[session], pos, s.persona[session])

    table = pa.table({
        "ts_us": ts_us[visible],
        "day": (ts_us[visible] // (DAY * 1_000_000)).astype(np.int32),
        "name": name[visible],
        "pseudo": s.pseudo[session][visible],
        "user": np.where(has_user, s.user[session], -1)[visible],
        "session_id": s.start[session][visible],
        "session_number": session_number[session][visible].astype(np.int32),
        "channel": s.channel[session][visible],
        "campaign": s.campaign[session][visible],
        "source": s.source[session][visible],
        "landing": landing[visible],
        "page": page[visible],
        "feature": feature[visible],
        "engaged": (s.pageviews[session] > 1)[visible],
        "pos": pos[visible].astype(np.int32),
    })
    return table.sort_by([("ts_us", "ascending"), ("pseudo", "ascending"), ("pos", "ascending")])


def _hash_uniform(a: np.ndarray, b: np.ndarray, salt: int) -> np.ndarray:
    """A uniform [0, 1) number per (a, b) pair: stable per event whatever else is generated."""
    x = ((a.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
         ^ (b.astype(np.uint64) + np.uint64(salt)) * np.uint64(0xBF58476D1CE4E5B9))
    x ^= x >> np.uint64(31)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(29)
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _event_jitter(start: np.ndarray, pos: np.ndarray) -> np.ndarray:
    return (_hash_uniform(start, pos, 1) * 29_000_000).astype(np.int64)


def _event_delay(start: np.ndarray, pos: np.ndarray) -> np.ndarray:
    u = _hash_uniform(start, pos, 2)
    return np.where(u < LATE_SHARE[1], 2, np.where(u < LATE_SHARE[0] + LATE_SHARE[1], 1, 0)).astype(np.int64)


def _page_codes(start: np.ndarray, pos: np.ndarray, signed_in: np.ndarray) -> np.ndarray:
    u = _hash_uniform(start, pos, 3)
    site = (u * (len(catalog.PAGES) - 1)).astype(np.int16)  # '/signup' only on sign-up
    return np.where(signed_in, len(catalog.PAGES), site).astype(np.int16)  # code len(PAGES) = '/app'


def _feature_codes(start: np.ndarray, pos: np.ndarray, persona: np.ndarray) -> np.ndarray:
    weights = np.array(catalog.FEATURE_PERSONAS, float)
    cumulative = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    u = _hash_uniform(start, pos, 4)
    return (u[:, None] >= cumulative[persona]).sum(axis=1).clip(0, len(catalog.FEATURES) - 1).astype(np.int16)


def first_touch_traffic(sessions: Sessions, n_pseudos: int) -> list[tuple[str, str, str]]:
    """GA4's user-scoped ``traffic_source`` (source, medium, name): each browser's first session."""
    order = np.lexsort((sessions.start, sessions.pseudo))
    pseudo = sessions.pseudo[order]
    first = order[np.r_[True, pseudo[1:] != pseudo[:-1]]]
    result = [("(direct)", "(none)", "(direct)")] * n_pseudos
    for i in first.tolist():
        campaign, source = int(sessions.campaign[i]), int(sessions.source[i])
        if campaign >= 0:
            spec = catalog.CAMPAIGNS[campaign]
            src, med = catalog.PLATFORM_UTM[spec.platform]
            result[int(sessions.pseudo[i])] = (src, med, spec.slug)
        elif source >= 0 and SOURCES[source][0] != "direct":
            _, src, med = SOURCES[source]
            result[int(sessions.pseudo[i])] = (src, med, "(organic)" if med == "organic" else f"({med})")
    return result


def _dimension_tables(
    pseudos: Pseudos, user_ids: list[str], first_traffic: list[tuple[str, str, str]]
) -> dict[str, pa.Table]:
    devices = [d[:3] for d in catalog.DEVICES]
    return {
        "pseudos": pa.table({
            "pseudo": np.arange(len(pseudos.ids)), "client_id": pseudos.ids,
            "device_category": [devices[d][0] for d in pseudos.device],
            "operating_system": [devices[d][1] for d in pseudos.device],
            "browser": [devices[d][2] for d in pseudos.device],
            "country": [catalog.COUNTRIES[c][0] for c in pseudos.country],
            "continent": [catalog.COUNTRIES[c][1] for c in pseudos.country],
            "city": [catalog.COUNTRIES[c][2] for c in pseudos.country],
            "ts_source": [t[0] for t in first_traffic],
            "ts_medium": [t[1] for t in first_traffic],
            "ts_name": [t[2] for t in first_traffic],
        }),
        "users": pa.table({"user": np.arange(len(user_ids)), "user_id": user_ids}),
        "campaigns": pa.table({
            "campaign": np.arange(len(catalog.CAMPAIGNS), dtype=np.int16),
            "c_source": [catalog.PLATFORM_UTM[c.platform][0] for c in catalog.CAMPAIGNS],
            "c_medium": [catalog.PLATFORM_UTM[c.platform][1] for c in catalog.CAMPAIGNS],
            "c_name": [c.slug for c in catalog.CAMPAIGNS],
            "c_id": [c.campaign_id for c in catalog.CAMPAIGNS],
            "is_google": [c.platform == "google_ads" for c in catalog.CAMPAIGNS],
        }),
        "sources": pa.table({
            "source": np.arange(len(SOURCES), dtype=np.int16),
            "s_source": [r[1] for r in SOURCES], "s_medium": [r[2] for r in SOURCES],
            "s_referrer": [f"https://{r[1]}/" if r[2] in ("referral", "organic") else None for r in SOURCES],
        }),
        "pages": pa.table({
            "page": np.arange(len(catalog.PAGES) + 1, dtype=np.int16),
            "path": list(catalog.PAGES) + ["/app"],
            "title": [f"Northstar | {p.strip('/') or 'home'}" for p in catalog.PAGES] + ["Northstar app"],
        }),
        "features": pa.table({"feature": np.arange(len(catalog.FEATURES), dtype=np.int16),
                              "feature_name": list(catalog.FEATURES)}),
        "names": pa.table({"name": np.arange(len(EVENT_NAMES), dtype=np.int8), "event_name": list(EVENT_NAMES)}),
    }


_EVENT_SQL = """
with e as (
    select e.*, n.event_name, p.*, u.user_id, c.c_source, c.c_medium, c.c_name, c.c_id, c.is_google,
           s.s_source, s.s_medium, s.s_referrer, pg.path, pg.title, f.feature_name,
           coalesce(c.c_source, s.s_source) as src, coalesce(c.c_medium, s.s_medium) as med,
           case when e.campaign >= 0 then c.c_name
                when s.s_medium = 'email' then 'monthly-digest-' || strftime(make_date(1970, 1, 1) + e.day, '%%Y-%%m')
           end as cmp
    from events e
    join names n using (name)
    join pseudos p using (pseudo)
    left join users u on u.user = e."user"
    left join campaigns c using (campaign)
    left join sources s using (source)
    join pages pg using (page)
    left join features f on f.feature = e.feature and e.name = 6
),
located as (
    select *,
        landing and cmp is not null and med in ('cpc', 'paid_social', 'email') as tagged,
        case when is_google then 'Cj0KCQ' || md5(session_id::varchar || client_id)[1:20] end as gclid,
        landing and src is not null and src <> '(direct)' as carries_source
    from e
),
params as (
    select *,
        %(site)s || path || case when tagged then '?utm_source=' || src || '&utm_medium=' || med
            || '&utm_campaign=' || cmp || coalesce('&gclid=' || gclid, '') else '' end as page_location
    from located
)
select
    strftime(make_date(1970, 1, 1) + day, '%%Y%%m%%d') as event_date,
    ts_us as event_timestamp,
    event_name,
    ('[' || concat_ws(',',
        '{"key":"ga_session_id","value":{"int_value":' || session_id || '}}',
        '{"key":"ga_session_number","value":{"int_value":' || session_number || '}}',
        '{"key":"page_location","value":{"string_value":"' || page_location || '"}}',
        '{"key":"page_title","value":{"string_value":"' || title || '"}}',
        case when landing and s_referrer is not null
            then '{"key":"page_referrer","value":{"string_value":"' || s_referrer || '"}}' end,
        case when carries_source then '{"key":"source","value":{"string_value":"' || src || '"}}' end,
        case when carries_source then '{"key":"medium","value":{"string_value":"' || med || '"}}' end,
        case when carries_source and cmp is not null
            then '{"key":"campaign","value":{"string_value":"' || cmp || '"}}' end,
        case when engaged then '{"key":"session_engaged","value":{"string_value":"1"}}' end,
        case when name = 8
            then '{"key":"engagement_time_msec","value":{"int_value":' || (10000 + session_id %% 50000) || '}}' end,
        case when name = 6 then '{"key":"feature_name","value":{"string_value":"' || feature_name || '"}}' end,
        case when name = 4 then '{"key":"method","value":{"string_value":"email"}}' end
    ) || ']')::json as event_params,
    user_id,
    client_id as user_pseudo_id,
    split_part(client_id, '.', 2)::bigint * 1000000 as user_first_touch_timestamp,
    ('{"category":"' || device_category || '","operating_system":"' || operating_system
        || '","language":"en-us","web_info":{"browser":"' || browser
        || '","hostname":"www.northstar-demo.io"}}')::json as device,
    ('{"continent":"' || continent || '","country":"' || country || '","city":"' || city || '"}')::json as geo,
    ('{"name":"' || ts_name || '","medium":"' || ts_medium || '","source":"' || ts_source
        || '"}')::json as traffic_source,
    case when tagged then ('{"manual_campaign_id":"' || c_id || '","manual_campaign_name":"' || cmp
        || '","manual_source":"' || src || '","manual_medium":"' || med || '"'
        || coalesce(',"gclid":"' || gclid || '"', '') || '}')::json end as collected_traffic_source,
    'WEB' as platform,
    '4242424242' as stream_id,
    pos as _pos
from params
order by event_date, event_timestamp, user_pseudo_id, _pos
"""


def write_export(out_dir: Path, events: pa.Table, pseudos: Pseudos, user_ids: list[str],
                 first_traffic: list[tuple[str, str, str]], seed: int, malformed_rate: float = 0.0,
                 layout: str = "daily") -> Ga4Output:
    """Write the export files of ``layout`` (see the module doc); malformed lines (if asked,
    JSON layouts only) are extra, never replace events."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown GA4 layout {layout!r}: choose one of {', '.join(LAYOUTS)}")
    if malformed_rate > 0 and layout == "parquet-shards":
        raise ValueError("--malformed-rate needs a JSON layout: Parquet columns are typed")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in [*out_dir.glob("events_*.json.gz"), *out_dir.glob("events_*.parquet")]:
        old.unlink()
    con = duckdb.connect()
    con.execute("set threads = 2")
    # materialised and sorted by day: each day's query then reads only its own row groups
    con.register("events_arrow", events)
    con.execute("create table events as select * from events_arrow order by day, ts_us, pseudo, pos")
    con.unregister("events_arrow")
    for name, table in _dimension_tables(pseudos, user_ids, first_traffic).items():
        con.register(f"{name}_arrow", table)
        con.execute(f"create table {name} as select * from {name}_arrow")
    days, counts = np.unique(events.column("day").to_numpy(), return_counts=True)
    day_strings = [(date(1970, 1, 1) + timedelta(days=d)).strftime("%Y%m%d") for d in days.tolist()]
    written: dict[str, list[Path]] = {}

    def write_day(day_str: str) -> None:
        # one cursor per thread: DuckDB runs them in parallel; ORDER BY keeps the bytes stable
        cursor = con.cursor()
        written[day_str] = _write_day(cursor, out_dir, day_str, layout)
        cursor.close()

    # a month of records at a time bounds memory whatever the scale
    for batch in range(0, len(days), _BATCH_DAYS):
        first, last = days[batch], days[min(batch + _BATCH_DAYS, len(days)) - 1]
        con.execute("set threads = 2")
        con.execute(f"create or replace table export as {_EVENT_SQL % {'site': repr(SITE)}}".replace(
            "from events e", f"from (select * from events where day between {first} and {last}) e"))
        con.execute("set threads = 1")
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(write_day, day_strings[batch:batch + _BATCH_DAYS]))
    by_day = dict(zip(day_strings, counts.tolist(), strict=True))
    malformed_total = 0
    if malformed_rate > 0:
        for day_str in day_strings:
            for shard, path in enumerate(written[day_str]):
                key = [seed, 401, int(day_str)] + ([shard] if layout != "daily" else [])
                malformed_total += _inject_malformed(path, key, malformed_rate)
    con.close()
    files = sum(len(paths) for paths in written.values())
    return Ga4Output(files, sum(by_day.values()), malformed_total, by_day)


def shard_name(day_str: str, shard: int, extension: str) -> str:
    """EXPORT DATA's name for shard ``shard`` of a day exported to ``events_<day>-*.<ext>``."""
    return f"events_{day_str}-{shard:012d}.{extension}"


def _write_day(cursor: duckdb.DuckDBPyConnection, out_dir: Path, day_str: str, layout: str
               ) -> list[Path]:
    """The day's file(s) of ``layout``, written from the ``export`` table."""
    where = f"event_date = '{day_str}'"
    if layout == "daily":
        path = out_dir / f"events_{day_str}.json.gz"
        cursor.execute(f"copy (select * exclude (_pos) from export where {where} order by {_ORDER}) "
                       f"to '{path}' (format json, compression gzip)")
        return [path]
    parquet = layout == "parquet-shards"
    columns = _parquet_columns(cursor) if parquet else "* exclude (_pos, _shard)"
    cursor.execute(f"create temp table day_rows as select *, ntile({SHARDS_PER_DAY}) over "
                   f"(order by {_ORDER}) as _shard from export where {where}")
    shards = cursor.execute("select max(_shard) from day_rows").fetchone()[0] or 0
    paths = []
    for shard in range(shards):
        path = out_dir / shard_name(day_str, shard, "parquet" if parquet else "json.gz")
        options = "format parquet" if parquet else "format json, compression gzip"
        cursor.execute(f"copy (select {columns} from day_rows where _shard = {shard + 1} "
                       f"order by {_ORDER}) to '{path}' ({options})")
        paths.append(path)
    cursor.execute("drop table day_rows")
    return paths


def _structure(field: dict) -> object:
    """The ``json_transform`` structure of a BigQuery schema field: RECORD -> object of its
    fields (a struct), REPEATED -> a list, scalars their DuckDB type."""
    if field["type"] == "RECORD":
        inner: object = {f["name"]: _structure(f) for f in field["fields"]}
    else:
        inner = {"INTEGER": "BIGINT", "FLOAT": "DOUBLE", "BOOLEAN": "BOOLEAN"}.get(
            field["type"], "VARCHAR")
    return [inner] if field["mode"] == "REPEATED" else inner


def _parquet_columns(cursor: duckdb.DuckDBPyConnection) -> str:
    """The select list of a Parquet shard: every column of the BigQuery table, in its order
    and with its nested types (the export's JSON records read into them; a field the record
    lacks is null), null when the simulation has no such column."""
    from sandbox.bigquery_api import GA4_SCHEMA  # the one statement of the table's schema

    have = {row[0] for row in cursor.execute("describe export").fetchall()}
    columns = []
    for field in GA4_SCHEMA:
        name, structure = field["name"], _structure(field)
        if isinstance(structure, str):  # a scalar
            columns.append(f"cast({name if name in have else 'null'} as {structure}) as {name}")
        else:
            source = f"{name}::json" if name in have else "null::json"
            columns.append(f"json_transform({source}, '{json.dumps(structure)}') as {name}")
    return ", ".join(columns)


def _inject_malformed(path: Path, key: list[int], rate: float) -> int:
    """Insert truncated JSON lines at seeded positions (extra lines: every real event stays)."""
    lines = gzip.decompress(path.read_bytes()).splitlines()
    rng = np.random.default_rng(key)
    bad = set(np.flatnonzero(rng.random(len(lines)) < rate).tolist())
    out = []
    for i, line in enumerate(lines):
        out.append(line)
        if i in bad:
            out.append(line[: len(line) // 2])
    path.write_bytes(gzip.compress(b"\n".join(out) + b"\n", mtime=0))
    return len(bad)


def days_between(first: date, last_exclusive: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last_exclusive - first).days)]
