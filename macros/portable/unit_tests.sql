{#-
    dbt unit tests compare actual and expected rows as text. On DuckDB a model's decimal column
    keeps its declared scale (decimal(38, 6) - decimal(38, 6) is decimal(38, 6)), so 30 in a
    fixture reads 30.000000 like the actual value. PostgreSQL's arithmetic on numeric(p, s)
    gives a numeric without a declared scale whose values keep their own (30.000000), while
    the fixture's 30 cast to that numeric stays 30: the same number, compared as different
    text. On PostgreSQL every numeric column of both sides goes through trim_scale, so unit
    tests compare numbers as numbers, as they do on DuckDB. Nothing else changes.
-#}

{% macro postgres__get_unit_test_sql(main_sql, expected_fixture_sql, expected_column_names) -%}
    {%- set numeric = [] -%}
    {%- if execute -%}
        {%- for column in get_column_schema_from_query(expected_fixture_sql) -%}
            {%- if column.dtype | lower in ('numeric', 'decimal') -%}
                {%- do numeric.append(column.name | lower) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set selected = [] -%}
    {%- for name in expected_column_names -%}
        {%- set bare = name | replace('"', '') | lower -%}
        {%- do selected.append('trim_scale(' ~ name ~ ') as ' ~ name if bare in numeric else name) -%}
    {%- endfor %}
with dbt_internal_unit_test_actual as (
    select {{ selected | join(', ') }}, {{ dbt.string_literal("actual") }} as {{ adapter.quote("actual_or_expected") }}
    from (
        {{ main_sql }}
    ) as _dbt_internal_unit_test_actual
),

dbt_internal_unit_test_expected as (
    select {{ selected | join(', ') }}, {{ dbt.string_literal("expected") }} as {{ adapter.quote("actual_or_expected") }}
    from (
        {{ expected_fixture_sql }}
    ) as _dbt_internal_unit_test_expected
)

select * from dbt_internal_unit_test_actual
union all
select * from dbt_internal_unit_test_expected
{%- endmacro %}
