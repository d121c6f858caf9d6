#!/usr/bin/env bash
# One clock, and it cannot be moved in production: REPLPEER_CLOCK_OFFSET
# shifts the clock that certificate dates are checked on only in the build
# made for the tests (make check / make asan, -DRPL_TEST_CLOCK). The
# production binary (RP_PROD, build/replpeer) ignores it: a certificate made
# today still has about 3650 days left when the variable says ten years on.
source "$(dirname "$0")/lib.sh"

[ -n "${RP_PROD:-}" ] && [ -x "$RP_PROD" ] || { echo "SKIP: no production binary (RP_PROD) to compare"; exit 0; }
init_peer A "$(port)"
ten_years=$((3650 * 86400))
days() { REPLPEER_CLOCK_OFFSET=$ten_years "$1" cert -d "$W/A" show --json | jget 'j["days_left"]'; }
left_test=$(days "$RP")
left_prod=$(days "$RP_PROD")
echo "days left with the clock moved ten years: test build $left_test, production build $left_prod"
[ "$left_test" -le 0 ] || die "the test build ignores REPLPEER_CLOCK_OFFSET (days left $left_test)"
ok "the test build moves its clock with REPLPEER_CLOCK_OFFSET"
[ "$left_prod" -ge 3648 ] || die "the production build honours REPLPEER_CLOCK_OFFSET (days left $left_prod)"
ok "the production build ignores REPLPEER_CLOCK_OFFSET"
