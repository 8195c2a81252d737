"""QuantLib SVI smile fits on the slices sent by bench/svi.ts (JSON on stdin, JSON on stdout).

One SviInterpolatedSmileSection per slice (QuantLib 1.29's SVI calibration: SviInterpolation, the
XABR framework's Levenberg-Marquardt from one start, all five parameters free, vols not vega
weighted: the same unweighted IV objective as volfit's fit with uniform weights). Start: a = half
the slice's smallest total variance, b = 0.1, sigma = 0.1, rho = -0.3, m = 0 (a valid SVI
point). Timing is around the loop of QuantLib calls only (construction + the first volatility
call, which triggers the calibration). A slice whose calibration raises is counted as a failure.
"""
import json
import math
import sys
import time

import QuantLib as ql

payload = json.load(sys.stdin)
today = ql.Date(5, 1, 2026)
ql.Settings.instance().evaluationDate = today
dc = ql.Actual365Fixed()
out = {"params": [], "rmse_iv": [], "failures": 0}
t0 = time.perf_counter()
for s in payload["slices"]:
    days, forward, strikes, vols = s["days"], s["forward"], s["strikes"], s["vols"]
    try:
        wmin = min(v * v for v in vols) * days / 365.0
        sec = ql.SviInterpolatedSmileSection(
            today + days, forward, strikes, False, vols[len(vols) // 2], vols,
            0.5 * wmin, 0.1, 0.1, -0.3, 0.0, False, False, False, False, False, False)
        model = [sec.volatility(k) for k in strikes]
        out["params"].append([sec.a(), sec.b(), sec.rho(), sec.m(), sec.sigma()])
        out["rmse_iv"].append(math.sqrt(sum((m - v) ** 2 for m, v in zip(model, vols)) / len(vols)))
    except RuntimeError:
        out["failures"] += 1
        out["params"].append(None)
        out["rmse_iv"].append(None)
out["seconds"] = time.perf_counter() - t0
json.dump(out, sys.stdout)
