"""QuantLib side of bench/many (b): the BTC anchor's daily Heston cold fits, re-run in the same
process run as volfit, from the quotes of data/deribit-btc-daily-quantlib-anchor/quote_sets_canonical.csv.

Setup as that folder's SOURCE.md says: HestonModel + AnalyticHestonEngine (Gauss-Laguerre 144),
one HestonModelHelper per quote with ImpliedVolError, LevenbergMarquardt(1e-8, 1e-8, 1e-8),
EndCriteria(1000, 100, 1e-8, 1e-8, 1e-8), r = 0, no Feller constraint, the given cold start.

Exact intraday times (how this script reproduces them; the recorded run's own code is not in the
repository): the canonical file gives T (ACT/365, exact) and the forward F per expiry. Expiries are
08:00 UTC, so T * 365 = N - d with N whole days from 08:00 of the snapshot day and d the same
fraction of a day for every expiry of that day. With QuantLib's high-resolution dates (Debian's
build has them): the model's curves start at the snapshot instant E, each helper's curves at 08:00
(R) of that day, and a helper's maturity is Period(N, Days) from R, i.e. the expiry instant; the
engine prices at exactly T = (expiry - E) / 365. The helper's own Black inversion runs over
tau = N / 365, so its quote is iv * sqrt(T / tau) (the same total variance): the error it
minimises is sqrt(T / tau) (model IV - market IV), a weight within a few per cent of 1 (the
recorded run was unweighted). Dividend curves (zero rates at the expiries, linear) carry S0 to each
expiry's forward F on both clocks.

stdin: {"start": {...}, "warm": bool, "days": [{"date", "quotes": [{"T", "K", "F", "iv", "call"}]}]}
With "warm" true each day after the first starts from the previous day's fit (quantlib_heston_warm.csv).
stdout: {"quantlib": version, "days": [{"date", "seconds", "params", "rmse_iv", "end"}]}
`seconds` is model.calibrate alone; rmse_iv (in vol, 0.01 = 1 vol point) re-inverts the model
prices at the exact T to 1e-14.
"""
import datetime
import json
import math
import sys

import QuantLib as ql

from qlcalibrate import calibrate_lm

DC = ql.Actual365Fixed()
CAL = ql.NullCalendar()


def qdate(dt):
    return ql.Date(dt.day, dt.month, dt.year, dt.hour, dt.minute, dt.second)


def fit_day(day, start):
    quotes = day["quotes"]
    # Whole days N from 08:00 of the snapshot day, and the day's common fraction d (in seconds).
    n_days = [math.ceil(q["T"] * 365 - 1e-7) for q in quotes]
    fracs = sorted(round((n - q["T"] * 365) * 86400) for n, q in zip(n_days, quotes))
    frac = fracs[len(fracs) // 2]
    y, m, d = (int(x) for x in day["date"].split("-"))
    r_dt = datetime.datetime(y, m, d, 8, 0, 0)
    e_dt = r_dt + datetime.timedelta(seconds=frac)
    R, E = qdate(r_dt), qdate(e_dt)
    ql.Settings.instance().evaluationDate = E

    expiries = {}
    for n, q in zip(n_days, quotes):
        expiries.setdefault(n, q["F"])
    S0 = expiries[min(expiries)]
    nodes = sorted(expiries)
    dates = [CAL.advance(R, ql.Period(n, ql.Days)) for n in nodes]
    T_of = {n: DC.yearFraction(E, dt) for n, dt in zip(nodes, dates)}
    tau_of = {n: n / 365.0 for n in nodes}
    q_model = [-math.log(expiries[n] / S0) / T_of[n] for n in nodes]
    q_helper = [-math.log(expiries[n] / S0) / tau_of[n] for n in nodes]
    r_model = ql.YieldTermStructureHandle(ql.FlatForward(E, 0.0, DC))
    d_model = ql.YieldTermStructureHandle(ql.ZeroCurve([E] + dates, [q_model[0]] + q_model, DC))
    r_help = ql.YieldTermStructureHandle(ql.FlatForward(R, 0.0, DC))
    d_help = ql.YieldTermStructureHandle(ql.ZeroCurve([R] + dates, [q_helper[0]] + q_helper, DC))

    s0 = ql.QuoteHandle(ql.SimpleQuote(S0))
    p = start
    process = ql.HestonProcess(r_model, d_model, s0, p["v0"], p["kappa"], p["theta"], p["sigma"], p["rho"])
    model = ql.HestonModel(process)
    engine = ql.AnalyticHestonEngine(model, 144)
    helpers = []
    for n, q in zip(n_days, quotes):
        vol = q["iv"] * math.sqrt(T_of[n] / tau_of[n])
        h = ql.HestonModelHelper(ql.Period(n, ql.Days), CAL, S0, q["K"], ql.QuoteHandle(ql.SimpleQuote(vol)),
                                 r_help, d_help, ql.BlackCalibrationHelper.ImpliedVolError)
        h.setPricingEngine(engine)
        helpers.append(h)
    seconds = calibrate_lm(model, helpers)
    theta, kappa, sigma, rho, v0 = list(model.params())[:5]

    sq = 0.0
    for n, q, h in zip(n_days, quotes, helpers):
        T = T_of[n]
        typ = ql.Option.Call if q["call"] else ql.Option.Put
        try:
            sd = ql.blackFormulaImpliedStdDev(typ, q["K"], q["F"], h.modelValue(), 1.0, 0.0, q["iv"] * math.sqrt(T), 1e-14, 1000)
            sq += (sd / math.sqrt(T) - q["iv"]) ** 2
        except RuntimeError:
            sq += (h.calibrationError() * math.sqrt(tau_of[n] / T)) ** 2
    return {
        "date": day["date"],
        "seconds": seconds,
        "params": {"v0": v0, "kappa": kappa, "theta": theta, "sigma": sigma, "rho": rho},
        "rmse_iv": math.sqrt(sq / len(quotes)),
        "end": str(model.endCriteria()),
    }


def main():
    payload = json.load(sys.stdin)
    out = []
    for day in payload["days"]:
        start = out[-1]["params"] if payload.get("warm") and out else payload["start"]
        out.append(fit_day(day, start))
    json.dump({"quantlib": ql.__version__, "days": out}, sys.stdout)


if __name__ == "__main__":
    main()
