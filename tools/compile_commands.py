#!/usr/bin/env python3
"""Writes compile_commands.json for clang-tidy and clangd from Bazel's own compile actions.

Offline and without third-party rules: asks `bazel aquery` for every CppCompile action of the
workspace's targets (default configuration) and keeps each one's arguments, minus what only
GCC or Bazel's dependency bookkeeping understands, with clang++ as the compiler.

  tools/compile_commands.py                  # writes ./compile_commands.json
  tools/compile_commands.py -o /tmp/db       # writes /tmp/db/compile_commands.json
  clang-tidy -p /tmp/db core/ip.cc

The entries' directory is the workspace root; Bazel's `-iquote .` then names the source tree
and `bazel-out/...` the generated headers, through the bazel-out symlink `bazel build` leaves
at the root.
"""

import argparse
import json
import os
import subprocess
import sys

# Arguments dropped with the value that follows them.
DROP_WITH_VALUE = {"-MF", "-o"}
# Arguments dropped alone: dependency files, GCC-only flags clang warns about, and -Werror (a
# clang-only warning must not hide clang-tidy's own findings behind a compile error).
DROP = {"-MD", "-fno-canonical-system-headers", "-Wno-free-nonheap-object", "-Werror"}
DROP_PREFIXES = ("-frandom-seed=",)


def clean_arguments(arguments):
    """The compile arguments clang-tidy should see: clang++ first, Bazel/GCC extras removed."""
    out = ["clang++"]
    skip = False
    for arg in arguments[1:]:
        if skip:
            skip = False
            continue
        if arg in DROP_WITH_VALUE:
            skip = True
            continue
        if arg in DROP or arg.startswith(DROP_PREFIXES):
            continue
        out.append(arg)
    return out


def source_of(arguments):
    """The file after -c, or None."""
    for i, arg in enumerate(arguments[:-1]):
        if arg == "-c":
            return arguments[i + 1]
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output-dir", default=".",
                        help="directory to write compile_commands.json into (default: .)")
    parser.add_argument("--query", default='mnemonic("CppCompile", //...)',
                        help="the aquery expression (default: every CppCompile action)")
    args = parser.parse_args()

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bazel = os.path.join(root, "bazelw")
    result = subprocess.run([bazel, "aquery", args.query, "--output=jsonproto"], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stderr.decode(errors="replace"))
        sys.exit("compile_commands.py: bazel aquery failed")
    actions = json.loads(result.stdout or b"{}").get("actions", [])

    entries = {}
    for action in actions:
        arguments = action.get("arguments", [])
        source = source_of(arguments)
        # One entry per source file; external repositories are not ours to lint.
        if source is None or source.startswith("external/") or source in entries:
            continue
        entries[source] = {"directory": root, "file": source,
                           "arguments": clean_arguments(arguments)}

    os.makedirs(args.output_dir, exist_ok=True)
    path = os.path.join(args.output_dir, "compile_commands.json")
    with open(path, "w", encoding="utf-8") as out:
        json.dump([entries[s] for s in sorted(entries)], out, indent=1)
        out.write("\n")
    print(f"{path}: {len(entries)} files")


if __name__ == "__main__":
    main()
