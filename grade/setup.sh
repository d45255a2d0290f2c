#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image: the packages the grader needs.
#
# In the autograder zip (make autograder LAB=n) it sits at the top of the
# tree; in the repository it is grade/setup.sh.  Both work.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ -x "$here/scripts/deps.sh" ] || here=$(dirname "$here")
# Cross compilers and picolibc, QEMU and OpenSBI, host gcc, make, python3.
"$here/scripts/deps.sh" cross qemu host
# diff keeps the submission's diff; timeout bounds each checkpoint.
command -v diff >/dev/null && command -v timeout >/dev/null || {
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends diffutils coreutils
}
