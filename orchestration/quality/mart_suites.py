"""Suites on the dbt marts BI tools read: what dbt's tests do not already say.

One home per rule: the mart ymls own keys and relationships (dbt tests), not-null rules,
accepted values and ranges (their contracts' constraints: ``not_null``, and ``check`` for shares,
money, counts and MRR growth), and fail the dbt build before these run. What is left for
great-expectations here is the relation between two columns of a row: a part never exceeds its
whole (clicks of their impressions, active customers of their cohort, each feature stage of the
one before it). Whether a series moved unusually against its own history is anomaly_suites.py's.

Each check blocks publishing, like dbt's. Asset keys are the dbt models' keys.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from orchestration.dbt_project import relation
from orchestration.quality.rules import not_less_than
from orchestration.quality.suite import ReferenceData, Suite

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

#: (whole, part) pairs per mart: part <= whole on every row where both are present.
PARTS_OF_WHOLES: dict[str, tuple[tuple[str, str], ...]] = {
    # churned customers had MRR at the previous month's end; new ones have it at this month's end
    "mrr_summary": (("starting_customers", "churned_customers"), ("ending_customers", "new_customers")),
    "cohort_retention": (("cohort_customers", "active_customers"),),
    "user_retention": (("cohort_users", "active_users"),),
    "feature_adoption": tuple(itertools.pairwise(
        ("active_users", "discovered_users", "tried_users", "adopted_users", "habitual_users"))),
    "channel_performance": (("impressions", "clicks"),),
    # a channel's credit for a conversion is at most 1, and only for a conversion it touched
    "channel_attribution": (("touched_conversions", "attributed_conversions"),),
    "fct_ad_spend_daily": (("impressions", "clicks"),),
}


def _parts_of_wholes(model: str):
    def build(ref: ReferenceData) -> list[Expectation]:
        return [rule for whole, part in PARTS_OF_WHOLES[model] for rule in not_less_than(whole, part)]

    return build


MART_SUITES: tuple[Suite, ...] = tuple(
    Suite(name=model, table=relation(model), asset_key=(model,), expectations=_parts_of_wholes(model))
    for model in PARTS_OF_WHOLES
)
