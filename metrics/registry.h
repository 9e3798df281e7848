#ifndef PLANTMON_METRICS_REGISTRY_H_
#define PLANTMON_METRICS_REGISTRY_H_

// Counters, histograms and gauges, rendered in Prometheus' text exposition
// format (version 0.0.4). Debian ships no Prometheus client library for C++
// (prometheus-cpp is not packaged), so this is a small one of our own: what
// docs/operations.md lists, no more.
//
// Families are created once (usually at start) and live as long as the
// registry; recording is thread-safe. Label values are given in the order
// of the family's label names.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace plantmon::metrics {

using LabelValues = std::vector<std::string>;

class CounterFamily {
 public:
  void Add(const LabelValues& values, double delta = 1);

 private:
  friend class Registry;
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  void Render(std::string& out) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  mutable std::mutex mu_;
  std::map<LabelValues, double> values_;  // guarded by mu_
};

class HistogramFamily {
 public:
  void Observe(const LabelValues& values, double value);

 private:
  friend class Registry;
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}
  void Render(std::string& out) const;

  struct Series {
    std::vector<uint64_t> buckets;  // per bound, not cumulative; one more for +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<LabelValues, Series> series_;  // guarded by mu_
};

// A gauge read when the registry is rendered. Removed when the handle goes,
// so a gauge never reads an object that is gone.
class Registry;
class GaugeHandle {
 public:
  GaugeHandle() = default;
  GaugeHandle(GaugeHandle&& other) noexcept { *this = std::move(other); }
  GaugeHandle& operator=(GaugeHandle&& other) noexcept;
  GaugeHandle(const GaugeHandle&) = delete;
  GaugeHandle& operator=(const GaugeHandle&) = delete;
  ~GaugeHandle() { Reset(); }

  // Removes the gauge now.
  void Reset();

 private:
  friend class Registry;
  Registry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The family of that name, created on first use; later calls must pass the
  // same help and labels (checked).
  CounterFamily& Counter(const std::string& name, const std::string& help,
                         const std::vector<std::string>& label_names = {});
  HistogramFamily& Histogram(const std::string& name, const std::string& help,
                             const std::vector<std::string>& label_names,
                             const std::vector<double>& bounds);
  // A gauge `name{labels}` whose value `read` returns at each render. Gauges
  // of one name and labels registered more than once (two servers in one
  // process) are rendered as their sum.
  [[nodiscard]] GaugeHandle Gauge(const std::string& name, const std::string& help,
                                  const std::vector<std::string>& label_names,
                                  const LabelValues& values, std::function<double()> read);

  // Every family, sorted by name, in the text exposition format.
  std::string Render() const;

 private:
  friend class GaugeHandle;
  struct GaugeEntry {
    std::string help;
    std::vector<std::string> label_names;
    LabelValues values;
    std::function<double()> read;
  };
  void RemoveGauge(uint64_t id);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<CounterFamily>> counters_;      // guarded by mu_
  std::map<std::string, std::unique_ptr<HistogramFamily>> histograms_;  // guarded by mu_
  std::map<std::string, std::map<uint64_t, GaugeEntry>> gauges_;        // guarded by mu_
  uint64_t next_gauge_id_ = 1;                                          // guarded by mu_
};

// The process's registry: what the metrics endpoint serves.
Registry& DefaultRegistry();

// Latency buckets in seconds, from half a millisecond to ten seconds.
const std::vector<double>& LatencyBuckets();

}  // namespace plantmon::metrics

#endif  // PLANTMON_METRICS_REGISTRY_H_
