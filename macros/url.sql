{#-
    URL and naming helpers whose SQL differs between warehouses (regular expressions).

    url_query_param(url, name): the value of query parameter `name` in `url`, null when absent.
    url_host(url): the host of an absolute URL, without a leading 'www.'; null when not a URL.
    slugify(text): lower-case, every run of non-alphanumerics replaced by '-', trimmed of '-'
      ('Generic - SaaS Metrics' -> 'generic-saas-metrics'): how UTM campaign names are derived
      from ad platform campaign names (exceptions live in seed campaign_utm_mapping).
-#}

{% macro url_query_param(url, name) %}
    {{ return(adapter.dispatch('url_query_param', 'northstar')(url, name)) }}
{% endmacro %}

{% macro default__url_query_param(url, name) -%}
    nullif(regexp_extract({{ url }}, '[?&]{{ name }}=([^&#]*)', 1), '')
{%- endmacro %}

{% macro url_host(url) %}
    {{ return(adapter.dispatch('url_host', 'northstar')(url)) }}
{% endmacro %}

{% macro default__url_host(url) -%}
    nullif(regexp_extract(lower({{ url }}), '^[a-z]+://(www\.)?([^/:?#]+)', 2), '')
{%- endmacro %}

{% macro slugify(text) %}
    {{ return(adapter.dispatch('slugify', 'northstar')(text)) }}
{% endmacro %}

{% macro default__slugify(text) -%}
    trim(regexp_replace(lower({{ text }}), '[^a-z0-9]+', '-', 'g'), '-')
{%- endmacro %}

{#- PostgreSQL has no regexp_extract: regexp_match returns the groups as an array. -#}
{% macro postgres__url_query_param(url, name) -%}
    nullif((regexp_match({{ url }}, '[?&]{{ name }}=([^&#]*)'))[1], '')
{%- endmacro %}

{% macro postgres__url_host(url) -%}
    nullif((regexp_match(lower({{ url }}), '^[a-z]+://(www\.)?([^/:?#]+)'))[2], '')
{%- endmacro %}
