#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Unmodified OpenVPN 2.6 client over UDP to relay port 443, relayed to an OpenVPN server on UDP,
# with tls-crypt (the usual hardened setup) through a relay told it carries OpenVPN: the
# handshake must not be held back by the anti-amplification cap (tls-crypt's acks are
# encrypted, so the relay learns from the backend's reset reply that the backend checks
# return routability itself), and nothing of it may be taken for "not OpenVPN".
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init openvpn_udp
ph_openvpn_through_relay udp4 tls-crypt 'protocol = "openvpn"'
