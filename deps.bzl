"""The repositories connmgr needs, for connmgr's own WORKSPACE and for any project using it.

A consumer's WORKSPACE needs one stanza (examples/embed_core/WORKSPACE):

    local_repository(name = "connmgr", path = "/path/to/connmgr")   # or http_archive(...)
    load("@connmgr//:deps.bzl", "connmgr_dependencies")
    connmgr_dependencies()

connmgr builds offline with Debian's Bazel 4.2.3: every repository Bazel would otherwise
download is a local stand-in, and the system libraries (abseil, c-ares, Boost, libsodium,
nlohmann-json) come from Debian -dev packages through //third_party/system, which needs no
repository of its own. A repository the consumer already declared is left as it is.
"""

def _stub_repository_impl(rctx):
    # The stand-in is a directory of connmgr's; link its files into the new repository.
    source = rctx.path(rctx.attr.marker).dirname
    for child in source.readdir():
        rctx.symlink(child, child.basename)

_stub_repository = repository_rule(
    implementation = _stub_repository_impl,
    attrs = {"marker": attr.label(doc = "Any file at the top of the stand-in directory.")},
    local = True,
)

def connmgr_dependencies():
    """Declares rules_cc, platforms, rules_java and remote_coverage_tools unless present."""
    existing = native.existing_rules()
    if "rules_cc" not in existing:
        # Debian's rules_cc is too new for Bazel 4.2.3: a stand-in forwarding to native rules.
        _stub_repository(
            name = "rules_cc",
            marker = Label("//third_party/rules_cc:WORKSPACE"),
        )
    if "platforms" not in existing:
        native.local_repository(
            name = "platforms",
            path = "/usr/share/bazel/tools/platforms",  # Debian's bazel-platforms
        )
    if "rules_java" not in existing:
        native.local_repository(
            name = "rules_java",
            path = "/usr/share/bazel/rules/java",  # Debian's bazel-rules-java
        )
    if "remote_coverage_tools" not in existing:
        # Empty stand-ins so Bazel does not try to download its coverage tools for tests.
        _stub_repository(
            name = "remote_coverage_tools",
            marker = Label("//third_party/remote_coverage_tools:WORKSPACE"),
        )
