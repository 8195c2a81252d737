#!/usr/bin/python3
"""QuantLib side of bench/pricing.ts: prices the same Heston quotes with AnalyticHestonEngine
(default Gauss-Laguerre, the engine calibrations use) and COSHestonEngine (defaults L=16, N=200),
timing each inside Python. stdin: {"spot", "rate", "div", "sets": [[v0,kappa,theta,sigma,rho],...],
"days": [...], "strike": [...], "isCall": [...]}; stdout: prices of the first set and options/s."""
import json
import sys
import time

import QuantLib as ql

d = json.load(sys.stdin)
today = ql.Date(1, 1, 2024)
ql.Settings.instance().evaluationDate = today
dc = ql.Actual365Fixed()
spot = ql.QuoteHandle(ql.SimpleQuote(d["spot"]))
r = ql.YieldTermStructureHandle(ql.FlatForward(today, d["rate"], dc))
q = ql.YieldTermStructureHandle(ql.FlatForward(today, d["div"], dc))
options = []
for days, k, c in zip(d["days"], d["strike"], d["isCall"]):
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if c else ql.Option.Put, k)
    options.append(ql.VanillaOption(payoff, ql.EuropeanExercise(today + int(days))))

out = {}
for name, make in (("analytic", lambda m: ql.AnalyticHestonEngine(m)), ("cos", lambda m: ql.COSHestonEngine(m))):
    first = None
    t0 = time.perf_counter()
    for p in d["sets"]:
        model = ql.HestonModel(ql.HestonProcess(r, q, spot, *p))
        engine = make(model)
        prices = []
        for o in options:
            o.setPricingEngine(engine)
            prices.append(o.NPV())
        if first is None:
            first = prices
    dt = time.perf_counter() - t0
    out[name] = {"per_s": len(options) * len(d["sets"]) / dt, "prices": first}
print(json.dumps(out))
