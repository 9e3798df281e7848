"""Exposes Debian's rules_cc (package bazel-rules-cc) to Bazel 4.2.3.

The packaged rules_cc calls `use_cpp_toolchain()` from
@bazel_tools//tools/cpp:toolchain_utils.bzl, which Bazel 4.2.3 does not define.
This rule copies the tree and replaces that call with the toolchain type label it
stands for, so `load("@rules_cc//cc:defs.bzl", ...)` works offline.
"""

_RULES_CC_DIR = "/usr/share/bazel/rules/cc"

_PATCHED_FILES = [
    "cc/private/rules_impl/compiler_flag.bzl",
    "cc/private/rules_impl/cc_flags_supplier.bzl",
]

def _debian_rules_cc_impl(repository_ctx):
    source = repository_ctx.path(_RULES_CC_DIR)
    if not source.exists:
        fail("%s is missing: run tools/bootstrap (installs bazel-rules-cc)" % _RULES_CC_DIR)
    result = repository_ctx.execute(["cp", "-r", str(source) + "/.", "."])
    if result.return_code != 0:
        fail("copying rules_cc failed: " + result.stderr)
    for relative in _PATCHED_FILES:
        path = repository_ctx.path(relative)
        text = repository_ctx.read(path)
        text = text.replace(', "use_cpp_toolchain")', ")")
        text = text.replace("use_cpp_toolchain()", '["@bazel_tools//tools/cpp:toolchain_type"]')
        repository_ctx.file(path, text, executable = False)

debian_rules_cc = repository_rule(
    implementation = _debian_rules_cc_impl,
    local = True,
)
