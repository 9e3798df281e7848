#include "metrics/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace plantmon::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RegistryTest, CountersRenderByLabelsWithHelpAndType) {
  Registry registry;
  CounterFamily& calls = registry.Counter("calls_total", "Calls.", {"method", "code"});
  calls.Add({"/a/B", "OK"});
  calls.Add({"/a/B", "OK"}, 2);
  calls.Add({"/a/B", "NOT_FOUND"});
  EXPECT_EQ(registry.Render(),
            "# HELP calls_total Calls.\n"
            "# TYPE calls_total counter\n"
            "calls_total{method=\"/a/B\",code=\"NOT_FOUND\"} 1\n"
            "calls_total{method=\"/a/B\",code=\"OK\"} 3\n");
}

TEST(RegistryTest, LabelValuesAndHelpAreEscaped) {
  Registry registry;
  registry.Counter("c", "a \\ b\nc", {"l"}).Add({"q\"uote\\back\nline"});
  EXPECT_EQ(registry.Render(),
            "# HELP c a \\\\ b\\nc\n# TYPE c counter\nc{l=\"q\\\"uote\\\\back\\nline\"} 1\n");
}

TEST(RegistryTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry registry;
  HistogramFamily& latency = registry.Histogram("latency_seconds", "L.", {"m"}, {0.1, 1});
  latency.Observe({"x"}, 0.05);
  latency.Observe({"x"}, 0.1);  // on a bound: counts in that bucket (le)
  latency.Observe({"x"}, 0.5);
  latency.Observe({"x"}, 7);
  EXPECT_EQ(registry.Render(),
            "# HELP latency_seconds L.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{m=\"x\",le=\"0.10000000000000001\"} 2\n"
            "latency_seconds_bucket{m=\"x\",le=\"1\"} 3\n"
            "latency_seconds_bucket{m=\"x\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{m=\"x\"} 7.6500000000000004\n"
            "latency_seconds_count{m=\"x\"} 4\n");
}

TEST(RegistryTest, GaugesAreReadAtRenderSummedAndRemovedWithTheirHandle) {
  Registry registry;
  double a = 2;
  double b = 5;
  {
    GaugeHandle first = registry.Gauge("in_use", "In use.", {"pool"}, {"calls"}, [&] { return a; });
    GaugeHandle second =
        registry.Gauge("in_use", "In use.", {"pool"}, {"calls"}, [&] { return b; });
    EXPECT_THAT(registry.Render(), HasSubstr("in_use{pool=\"calls\"} 7\n"));
    a = 3;
    EXPECT_THAT(registry.Render(), HasSubstr("in_use{pool=\"calls\"} 8\n"));
    second.Reset();
    EXPECT_THAT(registry.Render(), HasSubstr("in_use{pool=\"calls\"} 3\n"));
  }
  EXPECT_THAT(registry.Render(), Not(HasSubstr("in_use")));
}

TEST(RegistryTest, FamiliesRenderSortedByName) {
  Registry registry;
  registry.Counter("b_total", "B.").Add({});
  GaugeHandle gauge = registry.Gauge("a", "A.", {}, {}, [] { return 1.5; });
  EXPECT_EQ(registry.Render(),
            "# HELP a A.\n# TYPE a gauge\na 1.5\n# HELP b_total B.\n# TYPE b_total counter\n"
            "b_total 1\n");
}

}  // namespace
}  // namespace plantmon::metrics
