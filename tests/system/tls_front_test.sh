#!/bin/bash
# The server's TLS front as an operator meets it (issue 15), on loopback with openssl s_client:
# - no tls_cert: a self-signed certificate is made, kept beside the state file (0600), its pin
#   logged, and the same one serves after a restart; without a state file the log says the pin
#   changes at every start;
# - tls_cert/tls_key: that certificate serves; SIGHUP with new files serves the new one;
#   files that cannot be used stop the start with a message naming the file, and a reload to
#   them is rejected while the old certificate goes on;
# - ALPN: http/1.1 is selected from "h2,http/1.1"; a client offering only h2 gets alert 120;
# - tls = false: the port is framed records only (no TLS handshake).
source "$(dirname "$0")/lib.sh"
VEC=$HERE/../vectors/tls
PIN=$(sed -n 's/^leaf_pin: //p' "$VEC/expected.txt")

loopback_relay_config
cp "$WORK/server.toml" "$WORK/base.toml"
stop_porthop() {
    kill -TERM "$PORTHOP"
    wait "$PORTHOP" 2>/dev/null || true
}
# served_pin: the SPKI pin of the certificate the port presents (empty if no TLS).
served_pin() {
    local der
    der=$(timeout 5 openssl s_client -connect "127.0.0.1:$T" -servername vector.test </dev/null 2>/dev/null |
        openssl x509 -pubkey -noout 2>/dev/null | openssl pkey -pubin -outform der 2>/dev/null |
        openssl dgst -sha256 -binary | base64) || true
    [[ -n $der && $der != "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" ]] && echo "sha256/$der"
}
logged_pin() { sed -n 's/.*tls_pin = "\(sha256\/[^"]*\)".*/\1/p' "$WORK/porthop.log" | tail -1; }

# --- self-signed, kept beside the state file --------------------------------------------------
mkdir -p "$WORK/state"
{ sed -n '1,/^\[metrics\]/p' "$WORK/base.toml" | sed '$d'; printf 'state_file = "%s"\n' "$WORK/state/sessions";
  sed -n '/^\[metrics\]/,$p' "$WORK/base.toml"; } >"$WORK/server.toml"
start_porthop "$WORK/server.toml"
first=$(logged_pin)
[[ $first == sha256/* ]] && ok "a self-signed certificate's pin is logged ($first)" || bad "no pin in the log: $(grep -i tls "$WORK/porthop.log")"
expect "the port serves the certificate the log names" "$(served_pin)" "$first"
expect "it is kept beside the state file, readable by its owner only" \
    "$(stat -c %a "$WORK/state/tls-self-signed.pem" 2>/dev/null)" 600
stop_porthop
start_porthop "$WORK/server.toml"
expect "after a restart the same certificate serves (same pin)" "$(logged_pin)" "$first"
expect "and the port presents it" "$(served_pin)" "$first"
stop_porthop
# Negative: a damaged kept certificate stops the start and says what to do.
echo garbage >"$WORK/state/tls-self-signed.pem"
status=0
timeout 10 "$BIN" server --config "$WORK/server.toml" >"$WORK/refused.log" 2>&1 || status=$?
expect "a damaged self-signed file: exit 1" "$status" 1
grep -q "tls-self-signed.pem cannot be used" "$WORK/refused.log" && ok "a damaged self-signed file: the error names it" ||
    bad "a damaged self-signed file: $(tail -n 2 "$WORK/refused.log")"
rm -f "$WORK/state/tls-self-signed.pem"

# --- no state file: a certificate per start, said so ------------------------------------------
cp "$WORK/base.toml" "$WORK/server.toml"
start_porthop "$WORK/server.toml"
grep -q "its pin changes at every start" "$WORK/porthop.log" && ok "without a state file the log warns the pin changes" ||
    bad "no warning about a changing pin: $(grep -i tls "$WORK/porthop.log")"
stop_porthop

# --- the operator's certificate, and a reload to another -------------------------------------
cp "$VEC/chain.pem" "$WORK/cert.pem"
cp "$VEC/leaf.key" "$WORK/key.pem"
{ sed -n '1,/^\[metrics\]/p' "$WORK/base.toml" | sed '$d'; printf 'tls_cert = "%s"\ntls_key = "%s"\n' "$WORK/cert.pem" "$WORK/key.pem";
  sed -n '/^\[metrics\]/,$p' "$WORK/base.toml"; } >"$WORK/server.toml"
start_porthop "$WORK/server.toml"
expect "tls_cert/tls_key: that certificate serves" "$(served_pin)" "$PIN"
alpn=$(timeout 5 openssl s_client -connect "127.0.0.1:$T" -alpn h2,http/1.1 </dev/null 2>&1 | sed -n 's/^ALPN protocol: //p')
expect "ALPN h2,http/1.1: http/1.1 is selected" "$alpn" "http/1.1"
h2only=$(timeout 5 openssl s_client -connect "127.0.0.1:$T" -alpn h2 </dev/null 2>&1 || true)
grep -q "alert no application protocol" <<<"$h2only" && ok "ALPN h2 only: alert 120 (no_application_protocol)" ||
    bad "ALPN h2 only: $(grep -i alert <<<"$h2only" | head -2)"
# A reload to a new certificate (made here, self-signed): new connections get it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=new.test \
    -keyout "$WORK/key2.pem" -out "$WORK/cert2.pem" 2>/dev/null
new_pin=sha256/$(openssl x509 -in "$WORK/cert2.pem" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
cp "$WORK/cert2.pem" "$WORK/cert.pem"
cp "$WORK/key2.pem" "$WORK/key.pem"
kill -HUP "$PORTHOP"
wait_for_log "reloaded" 1 || true
expect "SIGHUP: the renewed certificate serves" "$(served_pin)" "$new_pin"
# Negative: a reload to a key that does not match is rejected; the certificate in use stays.
cp "$VEC/leaf.key" "$WORK/key.pem"
kill -HUP "$PORTHOP"
if wait_for_log "reload of .* rejected" 1; then ok "SIGHUP with a mismatched key: the reload is rejected"; else
    bad "SIGHUP with a mismatched key: not rejected: $(tail -n 3 "$WORK/porthop.log")"; fi
expect "SIGHUP with a mismatched key: the certificate in use stays" "$(served_pin)" "$new_pin"
stop_porthop
# Negative: a start with files that cannot be used stops, naming the file.
rm -f "$WORK/cert.pem"
status=0
timeout 10 "$BIN" server --config "$WORK/server.toml" >"$WORK/refused.log" 2>&1 || status=$?
expect "a missing tls_cert: exit 1" "$status" 1
grep -q "$WORK/cert.pem" "$WORK/refused.log" && ok "a missing tls_cert: the error names the file" ||
    bad "a missing tls_cert: $(tail -n 2 "$WORK/refused.log")"

# --- tls = false: no TLS on the port ------------------------------------------------------------
{ sed -n '1,/^\[metrics\]/p' "$WORK/base.toml" | sed '$d'; printf 'tls = false\n'; sed -n '/^\[metrics\]/,$p' "$WORK/base.toml"; } >"$WORK/server.toml"
start_porthop "$WORK/server.toml"
expect "tls = false: no certificate is served" "$(served_pin)" ""
grep -q "TLS on tcp: off" "$WORK/porthop.log" && ok "tls = false: the start-up line says TLS is off" ||
    bad "tls = false: start-up line: $(grep ' server (' "$WORK/porthop.log")"
stop_porthop
finish
