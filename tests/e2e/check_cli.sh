#!/usr/bin/env bash
# The command-line contract: exit 0 ok; 2 usage/config/signature/input
# error with ONE clear stderr line naming the file and line or the bad
# value; -V and -h succeed. Each check runs the real binary.
set -uo pipefail
bin=${1:?usage: check_cli.sh LEAKWATCH}
top=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pcap="$top/pcaps/email_below_threshold.pcap"
cfg="$top/etc/leakwatch.yaml"
pass=0
fail=0

# expect NAME EXIT STDERR_REGEX -- ARGS...
expect() {
    local name=$1 want=$2 pattern=$3
    shift 4
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    local lines
    lines=$(wc -l <"$tmp/err")
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: exit $got, want $want; stderr: $(head -c 300 "$tmp/err")"
        fail=$((fail + 1))
    elif [ -n "$pattern" ] && ! grep -Eq "$pattern" "$tmp/err"; then
        echo "FAIL $name: stderr does not match /$pattern/: $(head -c 300 "$tmp/err")"
        fail=$((fail + 1))
    elif [ "$want" = 2 ] && [ "$lines" != 1 ]; then
        echo "FAIL $name: $lines stderr lines, want exactly 1"
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
}

expect ok 0 '' -- -c "$cfg" -r "$pcap" -o "$tmp/eve.json"
expect version 0 '' -- -V
expect help 0 '' -- -h
expect no_input 2 'no input' -- -c "$cfg"
expect stray_argument 2 "unexpected argument 'x.pcap'" -- -c "$cfg" x.pcap
expect unknown_option 2 "unknown option '--frobnicate'" -- --frobnicate -r "$pcap"
expect unknown_short_option 2 "unknown option '-z'" -- -z -r "$pcap"
expect missing_value 2 "'-r' needs a value" -- -c "$cfg" -r
expect missing_capture 2 '/nonexistent/cap\.pcap' -- -c "$cfg" -r /nonexistent/cap.pcap
printf 'not a capture\n' >"$tmp/text.pcap"
expect not_a_capture 2 'text\.pcap' -- -c "$cfg" -r "$tmp/text.pcap"
expect missing_config 2 'nope\.yaml' -- -c "$tmp/nope.yaml" -r "$pcap"
printf 'burst:\n  window: 60\n  thresold: 5\n' >"$tmp/typo.yaml"
expect config_unknown_key 2 'typo\.yaml:3:.*thresold' -- -c "$tmp/typo.yaml" -r "$pcap"
printf 'burst:\n  window: soon\n' >"$tmp/badval.yaml"
expect config_bad_value 2 'badval\.yaml:2:.*soon' -- -c "$tmp/badval.yaml" -r "$pcap"
expect set_bad_value 2 'burst\.threshold' -- -c "$cfg" --set burst.threshold=-3 -r "$pcap"
expect set_unknown_key 2 'no\.such' -- -c "$cfg" --set no.such=1 -r "$pcap"
expect set_host_bits 2 '10\.0\.0\.0/8' -- -c "$cfg" --set home_net=10.1.2.3/8 -r "$pcap"
expect set_values_below_threshold 2 'max_values' -- -c "$cfg" --set burst.threshold=50 \
    --set burst.max_values=10 -r "$pcap"
cat >"$tmp/sigs.yaml" <<'SIG'
signatures:
  - id: 4242
    name: "Broken"
    type: thing
    regex: 'abc(('
    validator: none
    normaliser: none
    charset: 'a-c'
    max_len: 10
SIG
expect bad_regex 2 'sigs\.yaml.*4242.*line 2' -- -c "$cfg" --set signatures="$tmp/sigs.yaml" \
    -r "$pcap"
expect missing_signatures 2 'gone\.yaml' -- -c "$cfg" --set signatures="$tmp/gone.yaml" -r "$pcap"
expect output_dir_missing 2 '/nonexistent/eve\.json' -- -c "$cfg" -r "$pcap" -o /nonexistent/eve.json
expect files_and_iface 2 'not both' -- -c "$cfg" -r "$pcap" -i lo
expect no_such_iface 2 'no-such-if0' -- -c "$cfg" -i no-such-if0 -o "$tmp/eve.json"
expect bad_bpf 2 "bpf 'tcp port banana'" -- -c "$cfg" --set 'capture.bpf=tcp port banana' \
    -r "$pcap" -o "$tmp/eve.json"
expect bad_output_spec 2 'syslog:local9' -- -c "$cfg" --set outputs=syslog:local9 -r "$pcap"
expect group_without_user 2 'needs --user' -- -c "$cfg" --group nogroup -r "$pcap"
expect geoip_missing 2 'nope\.mmdb' -- -c "$cfg" --set geoip.country_db="$tmp/nope.mmdb" \
    -r "$pcap" -o "$tmp/eve.json"
printf 'not a database' >"$tmp/corrupt.mmdb"
expect geoip_corrupt 2 'corrupt\.mmdb' -- -c "$cfg" --set geoip.asn_db="$tmp/corrupt.mmdb" \
    -r "$pcap" -o "$tmp/eve.json"
expect geoip_wrong_role 2 'test-asn\.mmdb' -- -c "$cfg" \
    --set geoip.country_db="$top/pcaps/geoip/test-asn.mmdb" -r "$pcap" -o "$tmp/eve.json"
expect geoip_optional 0 'warning: .*nope\.mmdb.*geoip\.required' -- -c "$cfg" \
    --set geoip.country_db="$tmp/nope.mmdb" --set geoip.required=no -r "$pcap" -o "$tmp/eve.json"
printf 'detectors:\n  - name: pair\n    key: bogus\n    sid: 1\n' >"$tmp/policy.yaml"
expect policy_bad 2 'policy\.yaml:3:.*bogus' -- -c "$cfg" --set policy="$tmp/policy.yaml" \
    -r "$pcap" -o "$tmp/eve.json"
expect policy_missing 2 'gone-policy\.yaml' -- -c "$cfg" --set policy="$tmp/gone-policy.yaml" \
    -r "$pcap" -o "$tmp/eve.json"
expect check_config_ok 0 '' -- --check-config -c "$cfg"
grep -q 'configuration OK' "$tmp/out" || {
    echo "FAIL check_config_ok: stdout does not say 'configuration OK'"
    fail=$((fail + 1))
}
expect check_config_bad 2 'typo\.yaml:3:.*thresold' -- --check-config -c "$tmp/typo.yaml"
expect check_config_bad_bpf 2 "capture\.bpf 'port banana'" -- --check-config -c "$cfg" \
    --set 'capture.bpf=port banana'
# -i needs no capture privilege to be refused cleanly when it does not exist;
# a live capture is tested in check_live.sh.
if [ -w /dev/full ]; then
    expect output_full 1 'could not be written' -- -c "$cfg" -r "$pcap" -o /dev/full
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
