"""Binds Debian's system libraries into Bazel through pkg-config.

Each library becomes a cc_library in @system_libs whose link flags, defines and
include directories come from `pkg-config`, never from hand-written -l lists:
gRPC alone pulls in dozens of absl_* libraries whose set changes between releases.
"""

# target name -> (pkg-config modules, extra link flags for libraries without a .pc file)
_LIBRARIES = {
    "grpcpp": (["grpc++", "protobuf"], []),
    "grpcpp_reflection": (["grpc++", "protobuf"], ["-lgrpc++_reflection"]),
    "protobuf": (["protobuf"], []),
    "pqxx": (["libpqxx", "libpq"], []),
    "absl": ([
        "absl_base",
        "absl_flags",
        "absl_flags_parse",
        "absl_flat_hash_map",
        "absl_flat_hash_set",
        "absl_hash",
        "absl_random_random",
        "absl_status",
        "absl_statusor",
        "absl_str_format",
        "absl_strings",
        "absl_synchronization",
        "absl_time",
    ], []),
    "gtest": (["gtest", "gmock"], []),
    "gtest_main": (["gtest", "gmock", "gmock_main"], []),
    "benchmark": (["benchmark"], []),
    "crypt": (["libcrypt"], []),
    "crypto": (["libcrypto"], []),
    "icu": (["icu-uc", "icu-i18n"], []),
    # Publishing side of the MQTT tests, benchmark and simulator (mqtt/BUILD).
    "mosquitto": (["libmosquitto"], []),
    # Webhook delivery (notify/BUILD).
    "curl": (["libcurl"], []),
    # The metrics endpoint (metrics/BUILD). Debian's libcivetweb-dev has no
    # .pc file; its header is in /usr/include.
    "civetweb": ([], ["-lcivetweb"]),
}

def _pkg_config(repository_ctx, flag, modules):
    if not modules:
        return []
    result = repository_ctx.execute(["pkg-config", flag] + modules)
    if result.return_code != 0:
        fail("pkg-config %s %s failed (run tools/bootstrap): %s" %
             (flag, " ".join(modules), result.stderr))
    return [f for f in result.stdout.strip().split(" ") if f]

def _system_libs_impl(repository_ctx):
    build = [
        'load("@rules_cc//cc:defs.bzl", "cc_library")',
        "",
        'package(default_visibility = ["//visibility:public"])',
        "",
    ]
    linked_dirs = {}
    for name, (modules, extra_linkopts) in _LIBRARIES.items():
        defines = []
        includes = []
        hdr_globs = []
        for flag in _pkg_config(repository_ctx, "--cflags", modules):
            if flag.startswith("-D"):
                defines.append(flag[2:])
            elif flag.startswith("-I"):
                directory = flag[2:]
                local = "include" + directory.replace("/", "_")
                if local not in linked_dirs:
                    repository_ctx.symlink(directory, local)
                    linked_dirs[local] = True
                includes.append(local)
                hdr_globs.append(local + "/*.h")
        linkopts = _pkg_config(repository_ctx, "--libs", modules) + extra_linkopts
        build.append("cc_library(")
        build.append("    name = %r," % name)
        build.append("    hdrs = glob(%r)," % hdr_globs)
        build.append("    includes = %r," % includes)
        build.append("    defines = %r," % sorted({d: True for d in defines}.keys()))
        build.append("    linkopts = %r," % linkopts)
        build.append(")")
        build.append("")
    repository_ctx.file("WORKSPACE", 'workspace(name = "system_libs")\n')
    repository_ctx.file("BUILD", "\n".join(build))

system_libs = repository_rule(
    implementation = _system_libs_impl,
    local = True,
    environ = ["PKG_CONFIG_PATH"],
)
