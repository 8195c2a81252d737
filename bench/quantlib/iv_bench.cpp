// QuantLib C++ anchor for bench/iv.ts: times QuantLib 1.29's Black implied standard deviation
// solvers on the very rows volfit inverts, with no interpreter between the loop and QuantLib.
//
// Built by bench/iv.ts at bench time (g++ -O2 -std=c++17 iv_bench.cpp -lQuantLib) into a temp
// dir; never committed as a binary.
//
// Usage: iv_bench <input.bin> <output-prefix> <repetitions>
//   input.bin: u32 n, then n f64 each of price, forward, strike, discount, isCall (0/1 as f64),
//              all little endian (as Float64Array writes them).
//   For each method m writes <output-prefix>.<m>.bin: n f64 standard deviations (NaN where
//   QuantLib threw) and prints one JSON object on stdout:
//   {"<m>": {"per_s": best rows/s over the repetitions, "seconds": best time, "failures": throws}}
// Timing covers the loop of QuantLib calls only (exceptions included: a throw is part of the cost
// of a row the method cannot do).
#include <ql/pricingengines/blackformula.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

using namespace QuantLib;

namespace {

struct Rows {
  std::vector<double> price, forward, strike, discount;
  std::vector<Option::Type> type;
};

bool readRows(const char* path, Rows& r) {
  FILE* f = std::fopen(path, "rb");
  if (!f) return false;
  std::uint32_t n = 0;
  if (std::fread(&n, sizeof n, 1, f) != 1) return false;
  std::vector<double> isCall(n);
  for (auto* v : {&r.price, &r.forward, &r.strike, &r.discount, &isCall}) {
    v->resize(n);
    if (std::fread(v->data(), sizeof(double), n, f) != n) return false;
  }
  std::fclose(f);
  r.type.resize(n);
  for (std::uint32_t i = 0; i < n; i++) r.type[i] = isCall[i] != 0 ? Option::Call : Option::Put;
  return true;
}

using Solver = std::function<double(Option::Type, double, double, double, double)>;

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: iv_bench <input.bin> <output-prefix> <repetitions>\n");
    return 2;
  }
  Rows rows;
  if (!readRows(argv[1], rows)) {
    std::fprintf(stderr, "iv_bench: cannot read %s\n", argv[1]);
    return 2;
  }
  const std::string prefix = argv[2];
  const int reps = std::max(1, std::atoi(argv[3]));
  const std::size_t n = rows.price.size();
  const double nan = std::numeric_limits<double>::quiet_NaN();

  // The methods. Accuracy is QuantLib's absolute tolerance on the standard deviation σ√T.
  const std::vector<std::pair<std::string, Solver>> methods = {
      {"default", [](Option::Type t, double k, double f, double p, double d) {
         return blackFormulaImpliedStdDev(t, k, f, p, d);  // accuracy 1e-6, QuantLib's default
       }},
      {"default_1e-12", [](Option::Type t, double k, double f, double p, double d) {
         return blackFormulaImpliedStdDev(t, k, f, p, d, 0.0, Null<Real>(), 1e-12, 100);
       }},
      {"LiRS", [](Option::Type t, double k, double f, double p, double d) {
         return blackFormulaImpliedStdDevLiRS(t, k, f, p, d);  // accuracy 1e-6, QuantLib's default
       }},
      {"LiRS_1e-12", [](Option::Type t, double k, double f, double p, double d) {
         return blackFormulaImpliedStdDevLiRS(t, k, f, p, d, 0.0, Null<Real>(), 1.0, 1e-12, 100);
       }},
  };

  std::printf("{");
  bool first = true;
  for (const auto& [name, solve] : methods) {
    std::vector<double> out(n, nan);
    double best = std::numeric_limits<double>::infinity();
    std::size_t failures = 0;
    for (int rep = 0; rep < reps; rep++) {
      failures = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (std::size_t i = 0; i < n; i++) {
        try {
          out[i] = solve(rows.type[i], rows.strike[i], rows.forward[i], rows.price[i], rows.discount[i]);
        } catch (const std::exception&) {
          out[i] = nan;
          failures++;
        }
      }
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::min(best, dt);
    }
    const std::string path = prefix + "." + name + ".bin";
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(out.data(), sizeof(double), n, f) != n) {
      std::fprintf(stderr, "iv_bench: cannot write %s\n", path.c_str());
      return 1;
    }
    std::fclose(f);
    std::printf("%s\"%s\":{\"per_s\":%.6g,\"seconds\":%.6g,\"failures\":%zu}", first ? "" : ",", name.c_str(),
                static_cast<double>(n) / best, best, failures);
    first = false;
  }
  std::printf("}\n");
  return 0;
}
