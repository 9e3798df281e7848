"""Text files compiled into a binary (storage/embedded_file.h)."""

def embedded_files(name, srcs, function):
    """Generates `name`.cc defining `function`, which returns `srcs` sorted by path.

    Sorting makes the order independent of how Bazel lists the sources
    (migrations must apply by number).
    """
    native.genrule(
        name = name,
        srcs = srcs,
        outs = [name + ".cc"],
        cmd = "$(location //third_party:embed_files.sh) %s $@ $$(echo $(SRCS) | tr ' ' '\\n' | sort)" % function,
        tools = ["//third_party:embed_files.sh"],
    )
