"""What every section of ``ptenv bench`` shares: a row of the table, and the loopback LLM server
the ``llm`` and ``ray`` sections measure against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    section: str
    name: str
    value: float
    unit: str
    #: The figure over its floor (``None``: no floor); ``floor`` names it.
    ratio: float | None = None
    floor: str | None = None
    #: (limit, at_most, on_ratio): the budget, if the row has one.
    budget: tuple[float, bool, bool] | None = None

    @property
    def ok(self) -> bool | None:
        if self.budget is None:
            return None
        limit, at_most, on_ratio = self.budget
        x = self.ratio if on_ratio else self.value
        return None if x is None else (x <= limit if at_most else x >= limit)


#: A loopback LLM server in its own process (as a real server would be: no shared GIL), 50 ms a
#: reply counted from each request's arrival.
SERVER = (
    # a short GIL switch interval: a reply thread waking from its wait is not held up to 5 ms by
    # another thread parsing a body (that delay belongs to this harness, not to the client measured)
    "import sys, time\nsys.setswitchinterval(0.0002)\nfrom ptenv.testing.loopback import LoopbackLLM, Text\n"
    "srv = LoopbackLLM(latency=0.05).start()\nsrv.handler = lambda provider, body: Text('X:[f(a=1)]')\n"
    "print(srv.openai_base_url, flush=True)\ntime.sleep(900)\n"
)
