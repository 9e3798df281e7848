"""C++ code generation for .proto files with the system protoc and grpc_cpp_plugin.

Bazel's native cc_proto_library needs @com_google_protobuf from the network, so this
macro runs Debian's /usr/bin/protoc with --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin
in a genrule and wraps the outputs in a cc_library.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

_PROTOC = "/usr/bin/protoc"
_GRPC_PLUGIN = "/usr/bin/grpc_cpp_plugin"

def cc_grpc_proto_library(name, protos, import_root = None, srcs = None, grpc = True, deps = [], headers_only = False, visibility = None):
    """Generates C++ (and gRPC C++) code for `protos`.

    Args:
      name: the cc_library to define.
      protos: proto paths relative to `import_root`, as they are imported.
      import_root: directory protoc resolves `protos` against; defaults to this package.
      srcs: the proto files as labels when they live in this package (defaults to `protos`).
      grpc: also run the gRPC plugin.
      deps: cc_library targets of imported protos.
      headers_only: compile no sources; a system library in `deps` already
        defines the generated classes (linking both would register the
        descriptors twice and abort at start-up).
      visibility: visibility of the cc_library.
    """
    package = native.package_name()
    if import_root == None:
        import_root = package
        if srcs == None:
            srcs = protos
    srcs = srcs or []
    out_dir = "$(GENDIR)/" + package
    headers = []
    sources = []
    for proto in protos:
        base = proto[:-len(".proto")]
        headers.append(base + ".pb.h")
        sources.append(base + ".pb.cc")
        if grpc:
            headers.append(base + ".grpc.pb.h")
            sources.append(base + ".grpc.pb.cc")
    command = [
        _PROTOC,
        "-I" + import_root,
        "-I/usr/include",
        "--cpp_out=" + out_dir,
    ]
    if grpc:
        command += [
            "--plugin=protoc-gen-grpc=" + _GRPC_PLUGIN,
            "--grpc_out=" + out_dir,
        ]
    command += [import_root + "/" + proto for proto in protos]
    native.genrule(
        name = name + "_codegen",
        srcs = srcs,
        outs = headers + sources,
        cmd = " ".join(command),
    )
    cc_library(
        name = name,
        srcs = [] if headers_only else sources,
        hdrs = headers,
        includes = ["."],
        deps = deps + ["@system_libs//:grpcpp"],
        visibility = visibility,
    )
