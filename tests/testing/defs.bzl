"""Test rules shared by the suites under tests/."""

load("@rules_cc//cc:defs.bzl", "cc_test")

def plantmon_db_test(name, srcs, deps = [], tags = [], **kwargs):
    """A GoogleTest binary that talks to the PostgreSQL started by tools/test.

    Tagged `external` so Bazel never serves its result from the cache: the
    outcome depends on the database, not only on the inputs Bazel can see.
    """
    cc_test(
        name = name,
        srcs = srcs,
        deps = deps + [
            "//tests/testing:test_database",
            "@system_libs//:gtest_main",
        ],
        tags = tags + ["external"],
        **kwargs
    )
