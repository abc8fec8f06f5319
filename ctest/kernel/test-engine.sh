#!/bin/bash
# Runs the reconciler API tests (test-engine.c) inside a private namespace.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"
"$IMA_HELPERS/test-engine"
