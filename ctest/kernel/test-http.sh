#!/bin/bash
# Runs the HTTP endpoint tests (test-http.c) inside a private network namespace: they bind
# sockets and connect to them with curl, which must never happen in the machine's own namespace.
. "$(dirname "$0")/lib.sh"
ima_enter_sandbox "$@"
command -v curl >/dev/null || fail "curl is not installed"
"$IMA_HELPERS/test-http"
