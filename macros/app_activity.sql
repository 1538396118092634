{#-
    is_app_activity(events): whether a GA4 event (a relation alias with event_name and
    page_location) is activity in the product: a login, a feature use, or a page view of /app.
    One definition for feature_adoption and user_engagement (docs/metrics.md "Funnel, features,
    KPIs"), so DAU/MAU and adoption count the same people.
-#}

{% macro is_app_activity(events) -%}
    (
        {{ events }}.event_name in ('feature_used', 'login')
        or (
            {{ events }}.event_name = 'page_view'
            and (
                {{ events }}.page_location like '%/app'
                or {{ events }}.page_location like '%/app/%'
                or {{ events }}.page_location like '%/app?%'
            )
        )
    )
{%- endmacro %}
