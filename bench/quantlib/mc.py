#!/usr/bin/python3
"""QuantLib MCEuropeanHestonEngine timing for bench/mc.ts.

stdin: {"spot","rate","div","params":[v0,kappa,theta,sigma,rho],"days","strike","samples","steps","seed"}
stdout: {"seconds","path_steps_per_s","price","error_estimate","paths"}
QuantLib's HestonProcess defaults to Andersen's QE scheme with martingale correction, the scheme
volfit uses; antithetic pairs count as two paths, as in volfit. Timed inside Python around NPV().
"""
import json
import sys
import time

import QuantLib as ql

p = json.load(sys.stdin)
today = ql.Date(1, 1, 2024)
ql.Settings.instance().evaluationDate = today
dc = ql.Actual365Fixed()
spot = ql.QuoteHandle(ql.SimpleQuote(p["spot"]))
r = ql.YieldTermStructureHandle(ql.FlatForward(today, p["rate"], dc))
q = ql.YieldTermStructureHandle(ql.FlatForward(today, p["div"], dc))
v0, kappa, theta, sigma, rho = p["params"]
process = ql.HestonProcess(r, q, spot, v0, kappa, theta, sigma, rho)
option = ql.VanillaOption(
    ql.PlainVanillaPayoff(ql.Option.Call, p["strike"]), ql.EuropeanExercise(today + int(p["days"]))
)
engine = ql.MCEuropeanHestonEngine(
    process, "pseudorandom", timeSteps=int(p["steps"]), antitheticVariate=True,
    requiredSamples=int(p["samples"]), seed=int(p["seed"]),
)
option.setPricingEngine(engine)
t0 = time.perf_counter()
price = option.NPV()
sec = time.perf_counter() - t0
paths = 2 * int(p["samples"])
print(json.dumps({
    "seconds": sec,
    "path_steps_per_s": paths * int(p["steps"]) / sec,
    "price": price,
    "error_estimate": option.errorEstimate(),
    "paths": paths,
}))
