"""QuantLib implied volatility on the rows sent by bench/iv.ts (JSON on stdin, JSON on stdout).

Fallback only: bench/iv.ts prefers the C++ anchor bench/quantlib/iv_bench.cpp (same methods), and
uses this script when g++ or the QuantLib headers are missing.

Timing is done here, around the loop of QuantLib calls only (it includes Python's per-call
overhead, which is part of using QuantLib-Python). Failures (exceptions) are returned as null.
"""
import json
import sys
import time

import QuantLib as ql

payload = json.load(sys.stdin)
price, forward, strike, T, is_call, disc = (payload[k] for k in ("price", "forward", "strike", "T", "isCall", "discount"))
n = len(price)
CALL, PUT = ql.Option.Call, ql.Option.Put
types = [CALL if c else PUT for c in is_call]
out = {}


def run(name, fn):
    res = [None] * n
    failures = 0
    t0 = time.perf_counter()
    for i in range(n):
        try:
            res[i] = fn(types[i], strike[i], forward[i], price[i], disc[i])
        except RuntimeError:
            failures += 1
    dt = time.perf_counter() - t0
    out[name] = {"per_s": n / dt, "seconds": dt, "failures": failures, "std_dev": res}


# Default solver (Newton-safe), asked for 1e-12 accuracy on the standard deviation.
run("default_1e-12", lambda t, k, f, p, d: ql.blackFormulaImpliedStdDev(t, k, f, p, d, 0.0, ql.nullDouble(), 1e-12, 100))
# Default solver with QuantLib's default accuracy (1e-6).
run("default", lambda t, k, f, p, d: ql.blackFormulaImpliedStdDev(t, k, f, p, d))
# Li's rational approximation plus successive over-relaxation (QuantLib's fastest).
run("LiRS", lambda t, k, f, p, d: ql.blackFormulaImpliedStdDevLiRS(t, k, f, p, d))
# The same asked for 1e-12 (omega = 1, QuantLib's default relaxation).
run("LiRS_1e-12", lambda t, k, f, p, d: ql.blackFormulaImpliedStdDevLiRS(t, k, f, p, d, 0.0, ql.nullDouble(), 1.0, 1e-12, 100))
json.dump(out, sys.stdout)
