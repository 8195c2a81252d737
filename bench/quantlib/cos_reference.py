#!/usr/bin/python3
"""Reference prices for the COS engine tests (test/engines/cos.quantlib.json).

Run with Debian's QuantLib-Python:  /usr/bin/python3 bench/quantlib/cos_reference.py > test/engines/cos.quantlib.json

Every Heston price is computed twice by two independent methods in QuantLib: AnalyticHestonEngine
(Gatheral's integrand, adaptive Gauss-Lobatto at 1e-13) and COSHestonEngine with a very wide
window and many terms (L = 32, N = 16000). Bates prices come from BatesEngine's adaptive
integration at 1e-14 and, as the check, at 1e-13. A quote is kept only if the two agree to 1e-11,
so the fixture itself is accurate well inside the 1e-10 the tests demand; dropped quotes are
counted in `dropped` (the analytic engine's integration breaks down for kappa = 50, sigma = 5 at
long expiries, where the two QuantLib methods disagree by up to 1e+5).
Strikes are placed at z standard deviations of ln(S_T) (z up to +-7: deep wings; limited to
|ln(K/F)| <= 6, beyond which f64 put-call parity alone costs 1e-10) and expiries go down to 2 days.
"""
import json
import math
import sys

import QuantLib as ql

S, R, Q = 100.0, 0.01, 0.02
TODAY = ql.Date(1, 1, 2024)
ql.Settings.instance().evaluationDate = TODAY
DC = ql.Actual365Fixed()

HESTON = [
    # v0, kappa, theta, sigma, rho
    (0.04, 4.0, 0.25, 1.0, -0.5),  # Lewis (2000)
    (0.04, 1.5, 0.06, 0.6, -0.7),  # equity index
    (0.5, 2.0, 0.6, 3.0, 0.3),  # crypto: vol 70 %, rho > 0, sigma far past Feller
    (0.3, 10.0, 0.4, 8.0, -0.2),  # very high vol of vol
    (0.01, 0.5, 0.02, 0.1, -0.9),  # low vol, strong skew
    (1.5, 50.0, 1.0, 5.0, 0.6),  # fast mean reversion, vol 100 %+
]
BATES_JUMPS = [
    # lambda, nu (mean log jump), delta (std log jump)
    (0.5, -0.1, 0.15),
    (3.0, 0.05, 0.3),
]
DAYS = [2, 7, 30, 182, 730, 1825]
Z = [-7, -5, -3, -2, -1, -0.5, 0, 0.5, 1, 2, 3, 5, 7]


def handles():
    spot = ql.QuoteHandle(ql.SimpleQuote(S))
    r = ql.YieldTermStructureHandle(ql.FlatForward(TODAY, R, DC))
    q = ql.YieldTermStructureHandle(ql.FlatForward(TODAY, Q, DC))
    return spot, r, q


def option(days, strike, is_call):
    ex = ql.EuropeanExercise(TODAY + days)
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if is_call else ql.Option.Put, strike)
    return ql.VanillaOption(payoff, ex)


def quotes_for(days, v0, theta, kappa):
    T = days / 365.0
    F = S * math.exp((R - Q) * T)
    # standard deviation of ln S_T from the expected integrated variance
    var = theta * T + (v0 - theta) * (1 - math.exp(-kappa * T)) / kappa
    sd = math.sqrt(var)
    out = []
    for z in Z:
        if abs(z * sd) > 6:
            continue
        K = F * math.exp(z * sd)
        out.append((T, K, z >= 0))  # out of the money side
        if z in (-2, 0, 2):
            out.append((T, K, z < 0))  # and the in-the-money side
    return out


def price_all(engines, opts):
    res = []
    for opt in opts:
        vals = []
        for e in engines:
            opt.setPricingEngine(e)
            vals.append(opt.NPV())
        res.append(vals)
    return res


def main():
    spot, r, q = handles()
    cases = []
    dropped = 0
    for kind in ("heston", "bates"):
        sets = [h + j for h in HESTON for j in BATES_JUMPS[:1]] if kind == "bates" else HESTON
        if kind == "bates":
            sets = sets[:3] + [HESTON[1] + BATES_JUMPS[1], HESTON[2] + BATES_JUMPS[1]]
        for p in sets:
            v0, kappa, theta, sigma, rho = p[:5]
            process = ql.HestonProcess(r, q, spot, v0, kappa, theta, sigma, rho)
            if kind == "heston":
                model = ql.HestonModel(process)
                engines = [
                    ql.AnalyticHestonEngine(
                        model, ql.AnalyticHestonEngine.Gatheral,
                        ql.AnalyticHestonEngine_Integration.gaussLobatto(1e-13, 1e-15, 10000000)),
                    ql.COSHestonEngine(model, 32, 16000),
                ]
            else:
                lam, nu, delta = p[5:]
                model = ql.BatesModel(ql.BatesProcess(r, q, spot, v0, kappa, theta, sigma, rho, lam, nu, delta))
                engines = [ql.BatesEngine(model, 1e-14, 100000000), ql.BatesEngine(model, 1e-13, 10000000)]
            rows = []
            for days in DAYS:
                for (T, K, is_call) in quotes_for(days, v0, theta, kappa):
                    days_int = days
                    opt = option(days_int, K, is_call)
                    a, b = price_all(engines, [opt])[0]
                    if not (math.isfinite(a) and math.isfinite(b)) or abs(a - b) > 1e-11:
                        dropped += 1
                        continue
                    rows.append({"T": T, "strike": K, "isCall": is_call, "price": a, "check": b})
            cases.append({"model": kind, "params": list(p), "quotes": rows})
    print(json.dumps({
        "generator": "bench/quantlib/cos_reference.py",
        "quantlib": ql.__version__,
        "spot": S, "rate": R, "div": Q,
        "note": "price: QuantLib AnalyticHestonEngine (Gatheral integrand, adaptive Gauss-Lobatto 1e-13) / BatesEngine (adaptive 1e-14); check: COSHestonEngine(L=32, N=16000) / BatesEngine (adaptive 1e-13); quotes where price and check differ by more than 1e-11 are dropped",
        "dropped": dropped,
        "cases": cases,
    }, indent=1))


if __name__ == "__main__":
    main()
