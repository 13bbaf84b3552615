"""Compiler options every connmgr C++ target sets itself.

They are on the targets rather than in .bazelrc because a project that depends on connmgr as an
external repository (deps.bzl) does not read connmgr's .bazelrc: with the options here, a
consumer builds connmgr's targets with no .bazelrc line of its own. Warnings-as-errors stay in
.bazelrc (connmgr's own builds only), so a newer compiler's new warning never breaks a consumer.
A consumer's own code that includes connmgr headers needs C++20 too.

Optimized builds (`-c opt`) use -O3, as the CMake build's Release type does: the core's hot
paths gain from the extra inlining (docs/performance.md). At -O3, GCC 12 reports false
positives of its deeper inlining inside absl::InlinedVector's moves (maybe-uninitialized) and
std::string's copies (restrict), so those two warnings are off in those builds; clang does not
know their names, hence the unknown-warning-option line before them (which GCC ignores).
"""

CONNMGR_COPTS = ["-std=c++20"] + select({
    str(Label("//:optimized")): [
        "-O3",
        "-Wno-unknown-warning-option",
        "-Wno-maybe-uninitialized",
        "-Wno-restrict",
    ],
    "//conditions:default": [],
})
