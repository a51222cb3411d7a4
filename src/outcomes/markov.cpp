// Markov removal-effect shares: a first-order chain over the paths, solved
// exactly (Gaussian elimination on the transient states).
#include <algorithm>
#include <cmath>
#include <map>

#include "waymark/outcomes/attribution.hpp"
#include "waymark/outcomes/attribution_stream.hpp"

namespace waymark::outcomes {
namespace {

// Transition counts between states 0 = start, 1..n = groups; each state's
// counts into conversion and null.
struct Chain {
  size_t states = 0;
  std::vector<std::vector<double>> to_state;  // [from][to]
  std::vector<double> to_conv;
  std::vector<double> to_null;
};

Chain chain_of(const MarkovCounts& counts, const std::map<std::string, size_t>& index) {
  Chain c;
  c.states = index.size() + 1;
  c.to_state.assign(c.states, std::vector<double>(c.states, 0.0));
  c.to_conv.assign(c.states, 0.0);
  c.to_null.assign(c.states, 0.0);
  auto state = [&](const std::string& g) { return g.empty() ? size_t{0} : index.at(g); };
  for (const auto& [edge, n] : counts) {
    const size_t from = state(edge.first);
    if (edge.second == kMarkovConversion)
      c.to_conv[from] += n;
    else if (edge.second == kMarkovNull)
      c.to_null[from] += n;
    else
      c.to_state[from][state(edge.second)] += n;
  }
  return c;
}

// Solves a * x = b in place (partial pivoting); a is square and, for an
// absorbing chain whose every state can reach absorption, nonsingular.
std::vector<double> solve(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r)
      if (std::fabs(a[r][col]) > std::fabs(a[pivot][col]))
        pivot = r;
    std::swap(a[col], a[pivot]);
    std::swap(b[col], b[pivot]);
    for (size_t r = col + 1; r < n; ++r) {
      const double f = a[r][col] / a[col][col];
      for (size_t k = col; k < n; ++k)
        a[r][k] -= f * a[col][k];
      b[r] -= f * b[col];
    }
  }
  std::vector<double> x(n, 0.0);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k)
      s -= a[i][k] * x[k];
    x[i] = s / a[i][i];
  }
  return x;
}

// P(absorbed in conversion | start) with state `removed` (0 = none) turned
// into a null state: x_i = sum_j Q_ij x_j + R_i, i.e. (I - Q) x = R.
double conversion_probability(const Chain& c, size_t removed) {
  std::vector<std::vector<double>> a(c.states, std::vector<double>(c.states, 0.0));
  std::vector<double> b(c.states, 0.0);
  for (size_t i = 0; i < c.states; ++i) {
    a[i][i] = 1.0;
    double out = c.to_conv[i] + c.to_null[i];
    for (double n : c.to_state[i])
      out += n;
    if ((removed != 0 && i == removed) || out == 0)
      continue;  // absorbing null: x_i = 0
    for (size_t j = 0; j < c.states; ++j)
      a[i][j] -= c.to_state[i][j] / out;
    b[i] = c.to_conv[i] / out;
  }
  return solve(std::move(a), std::move(b))[0];
}

}  // namespace

Result<std::vector<std::pair<std::string, double>>> markov_shares(const std::vector<Path>& paths) {
  MarkovCounts counts;
  for (const auto& p : paths)
    add_path(counts, p.groups, p.converted);
  return markov_shares(counts);
}

Result<std::vector<std::pair<std::string, double>>> markov_shares(const MarkovCounts& counts) {
  std::map<std::string, size_t> index;
  for (const auto& [edge, n] : counts)
    for (const std::string* g : {&edge.first, &edge.second})
      if (!g->empty() && *g != kMarkovConversion && *g != kMarkovNull)
        index.emplace(*g, 0);
  if (index.size() > kMarkovGroupsMax)
    return make_error("too_many_groups", "markov attribution takes at most " + std::to_string(kMarkovGroupsMax) +
                                             " groups; got " + std::to_string(index.size()));
  size_t next = 1;
  for (auto& [g, i] : index)
    i = next++;
  const Chain chain = chain_of(counts, index);
  const double base = conversion_probability(chain, 0);
  std::vector<std::pair<std::string, double>> shares;
  if (base <= 0)
    return shares;
  double total = 0;
  for (const auto& [g, i] : index) {
    const double effect = std::max(0.0, 1.0 - conversion_probability(chain, i) / base);
    shares.emplace_back(g, effect);
    total += effect;
  }
  if (total <= 0)
    return std::vector<std::pair<std::string, double>>{};
  for (auto& s : shares)
    s.second /= total;
  return shares;
}

}  // namespace waymark::outcomes
