"""What every node of a Ray cluster must share with the head (league/cluster.py): the check both Ray
users (league actors, ladder tables) run on what each node reports."""
import pytest

from engine.config import ConfigError
from league.cluster import check_versions, versions


def test_a_node_on_another_arena_or_schema_is_refused_naming_both_versions():
    check_versions(versions(), "10.0.0.2")  # the same install passes
    ours = versions()
    for key, other in (("arena", "0.0.1"), ("trajectory schema", "0"), ("ledger schema", "99")):
        with pytest.raises(ConfigError) as refused:
            check_versions({**ours, key: other}, "10.0.0.2")
        line = str(refused.value)
        assert line == (f"node 10.0.0.2 runs {key} {other}, this head {ours[key]}: install the same Arena on "
                        "every node")
