#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Unmodified OpenVPN 2.6 client with `proto tcp-client` and `tls-auth` to relay TCP 443, relayed
# to an OpenVPN server that only speaks UDP: the relay turns OpenVPN's TCP framing (u16
# big-endian length + packet) into datagrams and back, with protocol = "openvpn" checking every
# frame (none may be refused as not_openvpn). The relay has a hop-link key, so its TCP port also
# takes porthop agents, whose records have masked lengths: a native client's first record is
# judged both ways (docs/PROTOCOL.md, "TCP framing") and every later one is read in clear; the
# iperf3 run carries thousands of records that must all arrive whole.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init openvpn_tcp
KEY=$("$PORTHOP_BIN" genkey) || ph_die "porthop genkey failed"
ph_openvpn_through_relay tcp4-client tls-auth "protocol = \"openvpn\"
key = \"$KEY\""
