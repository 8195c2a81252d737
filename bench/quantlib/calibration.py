"""QuantLib side of bench/calibration: build a Heston/Bates surface with QuantLib's analytic
engines, then time QuantLib's standard calibration of it (LevenbergMarquardt, ImpliedVolError,
AnalyticHestonEngine / BatesEngine) from the given start.

stdin: {"cases": [{"name", "model": "heston"|"bates", "truth": {...}, "start": {...},
                   "spot", "rate", "quotes": [{"days", "strike"}], "calibrate": true}]}
stdout: {"quantlib": version, "cases": [{"name", "ivs", "seconds", "params", "rmse_iv", "end"}]}
A case with "calibrate": false is priced only (its IVs come back, without a fit): benches that
time QuantLib on a subsample of their surfaces still fit every surface's QuantLib-priced IVs.
"""
import json
import math
import sys

import QuantLib as ql

from qlcalibrate import calibrate_lm


def build(case):
    today = ql.Date(5, ql.July, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    r_ts = ql.YieldTermStructureHandle(ql.FlatForward(today, case["rate"], dc))
    q_ts = ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc))
    s0 = ql.QuoteHandle(ql.SimpleQuote(case["spot"]))
    return today, dc, r_ts, q_ts, s0


def make_model(kind, p, r_ts, q_ts, s0):
    if kind == "heston":
        proc = ql.HestonProcess(r_ts, q_ts, s0, p["v0"], p["kappa"], p["theta"], p["sigma"], p["rho"])
        model = ql.HestonModel(proc)
        return model, ql.AnalyticHestonEngine(model)
    proc = ql.BatesProcess(r_ts, q_ts, s0, p["v0"], p["kappa"], p["theta"], p["sigma"], p["rho"],
                           p["lambda"], p["muJ"], p["sigmaJ"])
    model = ql.BatesModel(proc)
    return model, ql.BatesEngine(model)


def surface_ivs(case, today, dc, r_ts, q_ts, s0):
    """Market IVs: QuantLib model prices of the OTM option, inverted with Black."""
    _, engine = make_model(case["model"], case["truth"], r_ts, q_ts, s0)
    ivs = []
    for q in case["quotes"]:
        mat = today + ql.Period(q["days"], ql.Days)
        T = dc.yearFraction(today, mat)
        disc = r_ts.discount(mat)
        fwd = case["spot"] * q_ts.discount(mat) / disc
        K = q["strike"]
        typ = ql.Option.Call if K >= fwd else ql.Option.Put
        opt = ql.VanillaOption(ql.PlainVanillaPayoff(typ, K), ql.EuropeanExercise(mat))
        opt.setPricingEngine(engine)
        npv = opt.NPV()
        sd = ql.blackFormulaImpliedStdDev(typ, K, fwd, npv / disc, 1.0, 0.0, 0.3 * math.sqrt(T), 1e-14, 1000)
        ivs.append(sd / math.sqrt(T))
    return ivs


def calibrate(case, ivs, today, dc, r_ts, q_ts, s0):
    model, engine = make_model(case["model"], case["start"], r_ts, q_ts, s0)
    helpers = []
    for q, iv in zip(case["quotes"], ivs):
        h = ql.HestonModelHelper(ql.Period(q["days"], ql.Days), ql.NullCalendar(), case["spot"], q["strike"],
                                 ql.QuoteHandle(ql.SimpleQuote(iv)), r_ts, q_ts,
                                 ql.BlackCalibrationHelper.ImpliedVolError)
        h.setPricingEngine(engine)
        helpers.append(h)
    seconds = calibrate_lm(model, helpers)
    names = ["theta", "kappa", "sigma", "rho", "v0"]  # QuantLib's HestonModel.params() order
    vals = list(model.params())
    params = dict(zip(names, vals[:5]))
    if case["model"] == "bates":
        params.update(dict(zip(["lambda", "muJ", "sigmaJ"], vals[5:8])))
    # RMSE from the helpers' model prices at the fitted parameters, inverted to 1e-14 (the
    # helpers' calibrationError inverts only to their own solver accuracy). A price with no
    # Black vol counts with the helper's own error.
    sq = 0.0
    for h, q, iv in zip(helpers, case["quotes"], ivs):
        mat = today + ql.Period(q["days"], ql.Days)
        T = dc.yearFraction(today, mat)
        disc = r_ts.discount(mat)
        fwd = case["spot"] * q_ts.discount(mat) / disc
        typ = ql.Option.Call if q["strike"] >= fwd else ql.Option.Put
        try:
            sd = ql.blackFormulaImpliedStdDev(typ, q["strike"], fwd, h.modelValue() / disc, 1.0, 0.0, iv * math.sqrt(T), 1e-14, 1000)
            sq += (sd / math.sqrt(T) - iv) ** 2
        except RuntimeError:
            sq += h.calibrationError() ** 2
    rmse = math.sqrt(sq / len(ivs))
    return {"seconds": seconds, "params": params, "rmse_iv": rmse, "end": str(model.endCriteria())}


def main():
    payload = json.load(sys.stdin)
    out = []
    for case in payload["cases"]:
        ctx = build(case)
        ivs = surface_ivs(case, *ctx)
        res = calibrate(case, ivs, *ctx) if case.get("calibrate", True) else {}
        res.update({"name": case["name"], "ivs": ivs})
        out.append(res)
    json.dump({"quantlib": ql.__version__, "cases": out}, sys.stdout)


if __name__ == "__main__":
    main()
