#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Loss is not a blocked port (issue 14): unmodified WireGuard (wireguard-go) through the agent
# and the relay, as in agent_wireguard.sh, while the censor router drops 30 % of the forwarded
# UDP packets at random in each direction (nftables `numgen random`) for a minute. A 0.1 s ping
# stream runs through the tunnel (each ping and its reply cross the lossy link once each, so
# about half are answered). Must hold:
#   - the ping keeps working: at least one reply in every 5 s, and at least 35 % of all pings
#     answered (49 % expected);
#   - the agent changes path at most twice in the minute (its log's "path:" lines, and its
#     /status counters);
#   - the loss really happened: the drop rule's counter is between 20 % and 40 % of what the
#     router forwarded (a rule that matched nothing would pass the rest trivially).
# The hop interval is the default (5 min), so no scheduled hop falls in the minute unless the
# run straddles an epoch boundary; such a hop is counted like any other change. About 75 s.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ph_init agent_loss

WG_PORT=51820
CLI_IF=wgc$PH_ID
SRV_IF=wgs$PH_ID
CLI_TUN=10.78.0.2
SRV_TUN=10.78.0.1
UDP_PORTS="443 1194 40000-40099"
TCP_PORT=443
LOSS_PERCENT=30
LOSS_SECONDS=60
MAX_CHANGES=2

ph_topology
KEY=$(ph_hop_key)
ph_wg_keys server
ph_wg_keys client
ph_wg_up "$PH_NS_SRV" "$SRV_IF" "$SRV_TUN/24" private-key "$PH_TMP/server.key" \
    listen-port "$WG_PORT" peer "$(<"$PH_TMP/client.pub")" allowed-ips "$CLI_TUN/32"
ph_porthop_start "127.0.0.1:$WG_PORT" "$UDP_PORTS" "$TCP_PORT" "$(ph_hop_server_toml "$KEY" 5m)"
ph_agent_start "$PH_NS_CLI" "127.0.0.1:$WG_PORT" "$PH_SRV_ADDR" "$UDP_PORTS" "$TCP_PORT" "$KEY" 5m
ph_wg_up "$PH_NS_CLI" "$CLI_IF" "$CLI_TUN/24" private-key "$PH_TMP/client.key" listen-port 51821 \
    peer "$(<"$PH_TMP/server.pub")" allowed-ips "$SRV_TUN/32" endpoint "127.0.0.1:$WG_PORT"

ph_tping_start "$PH_NS_CLI" "$SRV_TUN" $((LOSS_SECONDS + 20)) "$PH_TMP/ping.log"
ph_wait_ready "$PH_TPING_PID" 10 "first ping reply through the tunnel" grep -q ' icmp_seq=' "$PH_TPING_LOG"
ph_log "tunnel up: agent on $(ph_agent_path)"
sleep 1

# The loss: one rule per direction would be the same; one rule on the forward hook sees each
# packet once, whichever way it goes. The counter on the accept side gives the denominator.
ph_ns "$PH_NS_RTR" nft -f - <<EOF
table inet phloss {
    counter seen { }
    counter dropped { }
    chain filter {
        type filter hook forward priority 0; policy accept;
        meta l4proto udp counter name seen
        meta l4proto udp numgen random mod 100 < $LOSS_PERCENT counter name dropped drop
    }
}
EOF
ph_log "censor: dropping ${LOSS_PERCENT} % of UDP at random, both ways, for ${LOSS_SECONDS} s"
n0=$(_ph_agent_nlines)
status0=$(ph_agent_status)
t0=$EPOCHREALTIME
sleep "$LOSS_SECONDS"
t1=$EPOCHREALTIME
status1=$(ph_agent_status)
lines=$(_ph_agent_new_lines "$n0")
# _counter NAME: packets counted by the named counter so far.
_counter() { ph_ns "$PH_NS_RTR" nft -j list counter inet phloss "$1" | jq '[.nftables[] | select(.counter) | .counter.packets] | add // 0'; }
seen=$(_counter seen)
dropped=$(_counter dropped)
ph_ns "$PH_NS_RTR" nft delete table inet phloss
ph_log "censor: loss lifted"

# 1) The loss happened, at about the rate asked for.
ph_result "router: $dropped of $seen UDP packets dropped"
((seen > 0)) || ph_die "the router forwarded no UDP during the loss phase"
awk -v d="$dropped" -v s="$seen" 'BEGIN { r = d / s; exit !(r >= 0.2 && r <= 0.4) }' ||
    ph_die "the router dropped $dropped of $seen UDP packets, not about ${LOSS_PERCENT} %"

# 2) The ping kept working: answers in every 5 s window, and overall.
read -r sent answered worst_gap < <(_ph_tping_replies | awk -v t0="$t0" -v t1="$t1" '
    $1 >= t0 && $1 <= t1 { if (!lo || $2 < lo) lo = $2; if ($2 > hi) hi = $2; n++
                           if (last && $3 - last > gap) gap = $3 - last; last = $3; if (!first) first = $3 }
    END { if (first && first - t0 > gap) gap = first - t0; if (last && t1 - last > gap) gap = t1 - last
          printf "%d %d %.2f\n", (n ? hi - lo + 1 : 0), n, gap }')
ph_result "ping under loss: $answered of $sent answered; longest time without a reply ${worst_gap}s"
((sent > 0)) || ph_die "no ping was answered during the loss phase"
awk -v a="$answered" -v s="$sent" 'BEGIN { exit !(a >= 0.35 * s) }' ||
    ph_die "only $answered of $sent pings answered under ${LOSS_PERCENT} % loss (expected about half)"
awk -v g="$worst_gap" 'BEGIN { exit !(g <= 5) }' ||
    ph_die "no ping answered for ${worst_gap}s under loss (the tunnel stopped)"

# 3) The agent stayed: at most MAX_CHANGES path changes, by its log and by its counters.
changes=$(grep -c . <<<"$lines" || true)
counted=$(jq -n --argjson a "$status0" --argjson b "$status1" \
    '($b.hops + $b.fallbacks + $b.climbs) - ($a.hops + $a.fallbacks + $a.climbs)')
ph_result "agent: $changes path change(s) logged in ${LOSS_SECONDS} s ($counted by /status), now on $(ph_agent_path)"
[[ -z $lines ]] || ph_log "agent: $(paste -sd'|' <<<"$lines")"
((changes <= MAX_CHANGES)) || ph_die "the agent changed path $changes times in ${LOSS_SECONDS} s of random loss (at most $MAX_CHANGES)"
((counted <= MAX_CHANGES)) || ph_die "the agent's /status counts $counted path changes in ${LOSS_SECONDS} s (at most $MAX_CHANGES)"

# After the loss: the tunnel is whole again.
ph_wait_exit "$PH_TPING_PID" 30 "ping stream" || true
lost=$(ph_tping_lost "$(awk -v t="$t1" 'BEGIN { printf "%.6f", t + 2 }')" "$(awk -v t="$t1" 'BEGIN { printf "%.6f", t + 12 }')")
ph_result "after the loss: $lost pings lost"
((lost == 0)) || ph_die "$lost pings lost after the loss was lifted"
ph_agent_stop
ph_porthop_stop
