"""A variable that is only meaningful beside another: when the dataset has `variable` (--TPT,
--ENRTPT, --DTC) it must also have `needs` (--TPTNUM, --ENTPT, --DY); a list of `needs` is
met by any one of them (--TPTREF beside --ELTM, --TPTNUM or --TPT). Without `variable`, the
dataset must always have one of `needs` (DM: AGE or AGETXT). With `listed_only`, a variable
is needed only where the SDTMIG's table of the domain lists it (MH lists no MHSTDY: the
SDTMIG does not ask for a start study day there). A dataset-level finding naming the first
variable needed; columns are looked at, not values."""

from __future__ import annotations

from trialbridge.conformance.context import Context, Issue
from trialbridge.conformance.operations import operation
from trialbridge.sdtm.metadata import standard_domains


@operation("variable_with")
def variable_with(
    context: Context,
    needs: str | list[str],
    variable: str | None = None,
    listed_only: bool = False,
) -> list[Issue]:
    columns = context.frame.columns
    if variable is not None and context.name(variable) not in columns:
        return []
    wanted = [context.name(v) for v in ([needs] if isinstance(needs, str) else needs)]
    meta = standard_domains().get(context.domain)
    if listed_only and meta is not None:
        wanted = [name for name in wanted if meta.variable(name) is not None]
        if not wanted:
            return []
    if any(name in columns for name in wanted):
        return []
    return [Issue(None, wanted[0], None)]
