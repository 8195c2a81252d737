"""QuantLib's Levenberg-Marquardt calibration as both Heston benches run it (the settings of
QuantLib's own Heston calibration examples), timed around model.calibrate only."""
import time

import QuantLib as ql


def calibrate_lm(model, helpers):
    """Calibrates `model` to `helpers` in place; returns the seconds model.calibrate took."""
    lm = ql.LevenbergMarquardt(1e-8, 1e-8, 1e-8)
    end = ql.EndCriteria(1000, 100, 1e-8, 1e-8, 1e-8)
    t0 = time.perf_counter()
    model.calibrate(helpers, lm, end)
    return time.perf_counter() - t0
