#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Unmodified OpenVPN 2.6 client with `proto tcp-client` and `tls-auth` to relay TCP 443, relayed
# to an OpenVPN server that only speaks UDP: the relay turns OpenVPN's TCP framing (u16
# big-endian length + packet) into datagrams and back, with protocol = "openvpn" checking every
# frame (none may be refused as not_openvpn).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init openvpn_tcp
ph_openvpn_through_relay tcp4-client tls-auth 'protocol = "openvpn"'
