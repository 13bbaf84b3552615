"""connmgr_fuzz_target: one fuzz target, its corpus replay test, and its libFuzzer binary."""

def connmgr_fuzz_target(name, srcs, deps = []):
    """Declares three targets for fuzz/<name>.cc, which defines LLVMFuzzerTestOneInput.

    <name>_corpus_test: replays every file of fuzz/corpus/<name>/ (plain `bazel test`, any
    compiler; part of //...).
    <name>_fuzzer: the real libFuzzer binary; build it with --config=fuzz (tagged manual so
    the default build, which has no libFuzzer, skips it).
    """
    native.cc_library(
        name = name + "_lib",
        testonly = True,
        srcs = srcs,
        deps = deps + ["//fuzz:fuzz_check"],
        alwayslink = True,
    )
    native.cc_test(
        name = name + "_corpus_test",
        deps = [":" + name + "_lib", "//fuzz:corpus_main"],
        data = native.glob(["corpus/" + name + "/*"]),
        args = ["fuzz/corpus/" + name],
    )
    native.cc_binary(
        name = name + "_fuzzer",
        testonly = True,
        deps = [":" + name + "_lib"],
        tags = ["manual"],
    )
