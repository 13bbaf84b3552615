"""Compiler options every connmgr C++ target sets itself.

They are on the targets rather than in .bazelrc because a project that depends on connmgr as an
external repository (deps.bzl) does not read connmgr's .bazelrc: with the options here, a
consumer builds connmgr's targets with no .bazelrc line of its own. Warnings-as-errors stay in
.bazelrc (connmgr's own builds only), so a newer compiler's new warning never breaks a consumer.
A consumer's own code that includes connmgr headers needs C++20 too.
"""

CONNMGR_COPTS = ["-std=c++20"]
