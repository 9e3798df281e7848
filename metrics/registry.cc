#include "metrics/registry.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace plantmon::metrics {
namespace {

// Label values escape backslash, double quote and newline; help text
// backslash and newline (the exposition format's rules).
std::string Escape(const std::string& text, bool quotes) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quotes) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrFormat("%.17g", value);
}

// `{a="x",b="y"}` (empty without labels), with `extra` (say le="0.5") last.
std::string LabelSet(const std::vector<std::string>& names, const LabelValues& values,
                     const std::string& extra = "") {
  std::string out;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    absl::StrAppend(&out, out.empty() ? "" : ",", names[i], "=\"", Escape(values[i], true), "\"");
  }
  if (!extra.empty()) absl::StrAppend(&out, out.empty() ? "" : ",", extra);
  return out.empty() ? out : absl::StrCat("{", out, "}");
}

void Header(std::string& out, const std::string& name, const std::string& help, const char* type) {
  absl::StrAppend(&out, "# HELP ", name, " ", Escape(help, false), "\n# TYPE ", name, " ", type,
                  "\n");
}

void CheckArity(const std::string& name, size_t expected, size_t given) {
  if (expected != given) {
    std::fprintf(stderr, "metrics: %s takes %zu label values, given %zu\n", name.c_str(), expected,
                 given);
    std::abort();
  }
}

}  // namespace

void CounterFamily::Add(const LabelValues& values, double delta) {
  CheckArity(name_, label_names_.size(), values.size());
  std::lock_guard<std::mutex> lock(mu_);
  values_[values] += delta;
}

void CounterFamily::Render(std::string& out) const {
  Header(out, name_, help_, "counter");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, value] : values_) {
    absl::StrAppend(&out, name_, LabelSet(label_names_, labels), " ", Number(value), "\n");
  }
}

void HistogramFamily::Observe(const LabelValues& values, double value) {
  CheckArity(name_, label_names_.size(), values.size());
  size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  std::lock_guard<std::mutex> lock(mu_);
  Series& series = series_[values];
  if (series.buckets.empty()) series.buckets.assign(bounds_.size() + 1, 0);
  ++series.buckets[bucket];
  series.sum += value;
  ++series.count;
}

void HistogramFamily::Render(std::string& out) const {
  Header(out, name_, help_, "histogram");
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, series] : series_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += series.buckets[i];
      const std::string le =
          absl::StrCat("le=\"", i < bounds_.size() ? Number(bounds_[i]) : "+Inf", "\"");
      absl::StrAppend(&out, name_, "_bucket", LabelSet(label_names_, labels, le), " ", cumulative,
                      "\n");
    }
    absl::StrAppend(&out, name_, "_sum", LabelSet(label_names_, labels), " ", Number(series.sum),
                    "\n", name_, "_count", LabelSet(label_names_, labels), " ", series.count, "\n");
  }
}

GaugeHandle& GaugeHandle::operator=(GaugeHandle&& other) noexcept {
  if (this != &other) {
    Reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void GaugeHandle::Reset() {
  if (registry_ != nullptr) std::exchange(registry_, nullptr)->RemoveGauge(id_);
}

CounterFamily& Registry::Counter(const std::string& name, const std::string& help,
                                 const std::vector<std::string>& label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<CounterFamily>& family = counters_[name];
  if (family == nullptr) {
    family.reset(new CounterFamily(name, help, label_names));
  } else {
    CheckArity(name, family->label_names_.size(), label_names.size());
  }
  return *family;
}

HistogramFamily& Registry::Histogram(const std::string& name, const std::string& help,
                                     const std::vector<std::string>& label_names,
                                     const std::vector<double>& bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<HistogramFamily>& family = histograms_[name];
  if (family == nullptr) {
    family.reset(new HistogramFamily(name, help, label_names, bounds));
  } else {
    CheckArity(name, family->label_names_.size(), label_names.size());
  }
  return *family;
}

GaugeHandle Registry::Gauge(const std::string& name, const std::string& help,
                            const std::vector<std::string>& label_names, const LabelValues& values,
                            std::function<double()> read) {
  CheckArity(name, label_names.size(), values.size());
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = next_gauge_id_++;
  gauges_[name].emplace(id, GaugeEntry{help, label_names, values, std::move(read)});
  GaugeHandle handle;
  handle.registry_ = this;
  handle.id_ = id;
  return handle;
}

void Registry::RemoveGauge(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = gauges_.begin(); it != gauges_.end(); ++it) {
    if (it->second.erase(id) > 0) {
      if (it->second.empty()) gauges_.erase(it);
      return;
    }
  }
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  // Every family by name, whatever its kind.
  std::map<std::string, std::function<void(std::string&)>> families;
  for (const auto& [name, family] : counters_) {
    families[name] = [&family = *family](std::string& out) { family.Render(out); };
  }
  for (const auto& [name, family] : histograms_) {
    families[name] = [&family = *family](std::string& out) { family.Render(out); };
  }
  for (const auto& [name, entries] : gauges_) {
    families[name] = [&name = name, &entries = entries](std::string& out) {
      Header(out, name, entries.begin()->second.help, "gauge");
      std::map<LabelValues, double> sums;
      std::vector<std::string> label_names = entries.begin()->second.label_names;
      for (const auto& [id, entry] : entries) sums[entry.values] += entry.read();
      for (const auto& [values, sum] : sums) {
        absl::StrAppend(&out, name, LabelSet(label_names, values), " ", Number(sum), "\n");
      }
    };
  }
  std::string out;
  for (const auto& [name, render] : families) render(out);
  return out;
}

Registry& DefaultRegistry() {
  static auto* registry = new Registry();
  return *registry;
}

const std::vector<double>& LatencyBuckets() {
  static const auto* buckets = new std::vector<double>{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

}  // namespace plantmon::metrics
