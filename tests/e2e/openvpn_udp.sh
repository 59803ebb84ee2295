#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Unmodified OpenVPN 2.6 client over UDP to relay port 443, relayed to an OpenVPN server on UDP.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init openvpn_udp
ph_openvpn_through_relay udp4
