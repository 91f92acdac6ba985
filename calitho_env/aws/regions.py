"""Region names, checked against the partitions botocore ships before a launch asks any of them."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from calitho_env.errors import ConfigurationError


def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's partitions.json (a few KB, read once a launch)."""
    from botocore.loaders import create_loader

    partitions = create_loader().load_data("partitions")["partitions"]
    return frozenset(region for partition in partitions for region in partition.get("regions", {}))


def check_region_names(regions: Sequence[str]) -> None:
    """Refuse a misspelt --regions entry now, not during the outage it was meant for."""
    if not regions:
        return
    known = known_regions()
    unknown = [region for region in regions if region not in known]
    if not unknown:
        return
    guesses = [match for region in unknown for match in difflib.get_close_matches(region, known, n=1)]
    raise ConfigurationError(
        f"--regions: {', '.join(unknown)} {'is not an AWS region' if len(unknown) == 1 else 'are not AWS regions'}"
        " (botocore's list of regions)",
        hint=(f"did you mean {', '.join(guesses)}? " if guesses else "")
        + "a region newer than this botocore needs a newer botocore",
    )
