#!/bin/bash
# The built-in site's reference still holds (issue 15): Debian's nginx, captured again by
# tests/vectors/http/make_http_vectors.sh --check, must answer every probe exactly as the
# committed golden files say (Date masked). The unit test (unit.wire, http_response_test.cpp)
# checks porthop's wire::http_response against those files; this test catches the other side
# drifting, an nginx update that changes an answer, so the vectors get re-captured.
# $1 (the porthop binary, as for every system test) is not needed: no porthop runs here.
# Exit 77 (skipped) without nginx. make_http_vectors.sh kills its nginx on any exit.
set -euo pipefail
exec bash "$(dirname "$0")/../vectors/http/make_http_vectors.sh" --check
