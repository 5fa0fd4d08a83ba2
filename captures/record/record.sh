#!/usr/bin/env bash
# Re-record the captures of captures/recorded/ with real VPN, proxy, tunnel
# and remote-access tools, each session between network namespaces joined by
# veth pairs. Nothing leaves the machine: the namespaces have no route except
# their own links (and the tunnel addresses the tools add).
#
#   sudo captures/record/record.sh all          # every capture
#   sudo captures/record/record.sh openvpn tor  # some of them
#   sudo captures/record/record.sh rdp vnc ssh ssh_relay  # remote access
#   sudo captures/record/record.sh list         # the recording names
#
# Needs root and, from Debian 12: openvpn wireguard-tools wireguard-go
# strongswan-charon strongswan-swanctl libcharon-extra-plugins tor
# microsocks tinyproxy iodine ptunnel-ng ptunnel dnsmasq-base dnsutils curl
# unbound dns2tcp (the DNS spread recordings; unbound's service need not run)
# openssl tcpdump tshark (editcap, capinfos) python3 iproute2 iputils-ping;
# for the remote-access recordings also xrdp freerdp2-x11 xvfb xauth
# tigervnc-standalone-server tigervnc-viewer x11vnc (only for -storepasswd)
# x11-apps (xclock) openssh-server openssh-client socat ethtool passwd;
# for the VPN variants also ocserv openconnect gnutls-bin nginx-light.
#
# rdp and ssh log in as a throwaway local user `alice` (system account, random
# password, fresh key, home in a temporary directory) that the script creates
# and deletes; it refuses to run if a user of that name already exists.
#
# Keys, certificates and secrets are generated fresh in a temporary
# directory for every run and deleted on exit; only the captures are kept.
# OUT (default: ../recorded next to this script) is where they go.
#
# Topology (every recording gets fresh namespaces):
#
#   gw-srv [gw-s 10.99.0.1/24] <--veth--> [gw-c 10.99.0.2/24] gw-cli
#
# tcpdump runs in gw-cli on gw-c (the client's uplink, as a gateway would
# see it), IPv4 only (IPv6 is disabled on the veth, so no ND/MLD noise).
#
# The remote-access recordings (rdp, vnc, ssh) put the server at
# 198.51.100.1 (TEST-NET-2, outside gateward's default home_net, reached
# through on-link host routes) so the sessions are outbound. ssh_relay uses
# four namespaces; see rec_ssh_relay.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$(cd "$HERE/.." && pwd)/recorded}
# NS_PREFIX names the namespaces (default gw: gw-srv, gw-cli, gw-rly,
# gw-dly), so two recordings can run side by side on one machine.
NS_PREFIX=${NS_PREFIX:-gw}
NS_S=$NS_PREFIX-srv
NS_C=$NS_PREFIX-cli
SRV=10.99.0.1
CLI=10.99.0.2
MAC_S=02:00:0a:63:00:01
MAC_C=02:00:0a:63:00:02
WORK=""
LOG=""
SESSION=0
TCPDUMP_PID=""
CHARON_srv=""
CHARON_cli=""
# Extra namespaces of the relay topology (rec_ssh_relay).
NS_R=$NS_PREFIX-rly
NS_D=$NS_PREFIX-dly
# The throwaway login of the rdp and ssh recordings (make_user).
USER_NAME=alice
USER_MADE=0
USER_HOME=""
USER_PW=""
RUN_SSHD_MADE=0

log() { printf '[record] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ns_s() { ip netns exec "$NS_S" "$@"; }
ns_c() { ip netns exec "$NS_C" "$@"; }

# Starts a command in the background in namespace $1, output to
# $LOG/$2.log; the pid is left in LAST_PID.
LAST_PID=""
bg() {
    local ns=$1 name=$2
    shift 2
    ip netns exec "$ns" "$@" >>"$LOG/$name.log" 2>&1 &
    LAST_PID=$!
}

# Waits up to $3 seconds for the extended regex $2 in the log file $1.
wait_log() {
    local file=$1 re=$2 t=${3:-20} i
    for ((i = 0; i < t * 10; i++)); do
        if grep -Eq -- "$re" "$file" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    log "timed out waiting for /$re/ in $file:"
    tail -n 30 "$file" >&2 || true
    return 1
}

# Waits up to $3 seconds until something listens on TCP or UDP port $2
# in namespace $1 ($4: -t or -u, default -t).
wait_port() {
    local ns=$1 port=$2 t=${3:-10} kind=${4:--t} i
    for ((i = 0; i < t * 10; i++)); do
        if ip netns exec "$ns" ss -Hln "$kind" "sport = :$port" | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    die "nothing listens on port $port in $ns"
}

# Kills every process left in namespace $1 (all of them were started here).
kill_ns() {
    local ns=$1 pids
    ip netns list | grep -qw "$ns" || return 0
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] || return 0
    # shellcheck disable=SC2086
    kill $pids 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -n "$pids" ] || return 0
        sleep 0.2
    done
    # shellcheck disable=SC2086
    kill -9 $pids 2>/dev/null || true
    sleep 0.2
}

net_down() {
    if [ -n "$TCPDUMP_PID" ]; then
        kill -INT "$TCPDUMP_PID" 2>/dev/null || true
        wait "$TCPDUMP_PID" 2>/dev/null || true
        TCPDUMP_PID=""
    fi
    local ns
    for ns in "$NS_C" "$NS_S" "$NS_R" "$NS_D"; do
        kill_ns "$ns"
    done
    for ns in "$NS_C" "$NS_S" "$NS_R" "$NS_D"; do
        ip netns del "$ns" 2>/dev/null || true
    done
}

cleanup() {
    local rc=$?
    set +e
    net_down
    drop_user
    if [ "$RUN_SSHD_MADE" = 1 ]; then
        rmdir /run/sshd 2>/dev/null
    fi
    if [ -n "$WORK" ]; then
        if [ "${KEEP_WORK:-0}" = 1 ]; then
            log "kept $WORK (KEEP_WORK=1: it holds the private keys; delete it)"
        else
            rm -rf "$WORK"
        fi
    fi
    exit $rc
}

# net_up [SERVER-ADDR]: the two-namespace topology; with an address outside
# 10.99.0.0/24 the server gets that address instead of 10.99.0.1, and each
# side an on-link host route to the other.
net_up() {
    local srv=${1:-$SRV}
    net_down
    # Fresh log directory per session (wait_log must not match old lines).
    SESSION=$((SESSION + 1))
    LOG="$WORK/log/$SESSION"
    mkdir -p "$LOG"
    ip netns add "$NS_S"
    ip netns add "$NS_C"
    for ns in "$NS_S" "$NS_C"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
        ip netns exec "$ns" ip link set lo up
    done
    ip link add gw-s netns "$NS_S" address "$MAC_S" type veth \
        peer name gw-c netns "$NS_C" address "$MAC_C"
    ns_s ip addr add "$srv/24" dev gw-s
    ns_c ip addr add "$CLI/24" dev gw-c
    ns_s ip link set gw-s up
    ns_c ip link set gw-c up
    if [ "$srv" != "$SRV" ]; then
        ns_c ip route add "$srv/32" dev gw-c
        ns_s ip route add "$CLI/32" dev gw-s
    fi
    # Resolve the neighbour now, so the capture does not start with ARP.
    ns_c ping -q -c 1 -W 2 "$srv" >/dev/null
}

# Starts tcpdump on the client's veth, writing $WORK/cap.pcap.
capture_start() {
    : >"$LOG/tcpdump.log"
    # shellcheck disable=SC2086
    ip netns exec "$NS_C" tcpdump -i gw-c -s 0 -U --immediate-mode -n -w "$WORK/cap.pcap" ${CAPTURE_FILTER:-ip} \
        >>"$LOG/tcpdump.log" 2>&1 &
    TCPDUMP_PID=$!
    wait_log "$LOG/tcpdump.log" 'listening on' 10
    sleep 0.3
}

# Stops tcpdump and stores the capture as $OUT/$1.pcap, keeping at most
# $2 packets (editcap -r) when given.
capture_save() {
    local name=$1 max=${2:-0} dest="$OUT/$1.pcap" n
    sleep 0.5
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=""
    n=$(capinfos -M -c -T "$WORK/cap.pcap" | awk -F'\t' 'NR==2{print $2}')
    if [ "$max" -gt 0 ] && [ "$n" -gt "$max" ]; then
        editcap -F pcap -r "$WORK/cap.pcap" "$dest" "1-$max"
        log "$name: kept the first $max of $n packets"
    else
        editcap -F pcap "$WORK/cap.pcap" "$dest"
    fi
    chmod 0644 "$dest"
    log "$name: $(stat -c %s "$dest") bytes, $(capinfos -M -c -T "$dest" | awk -F'\t' 'NR==2{print $2}') packets -> $dest"
}

# --- shared fixtures -------------------------------------------------------

# A few kilobytes of content for the web servers, identical on every run.
make_www() {
    mkdir -p "$WORK/www"
    python3 - "$WORK/www" <<'EOF'
import sys, hashlib, os
d = sys.argv[1]
blob = b"".join(hashlib.sha256(b"gateward-%d" % i).digest() for i in range(256))
open(os.path.join(d, "data.bin"), "wb").write(blob)          # 8 KiB
open(os.path.join(d, "index.html"), "w").write(
    "<!doctype html><title>gateward test</title><p>hello from the test server</p>\n" * 20)
EOF
}

# Plain HTTP server on port 8080 of namespace $1 (all addresses).
start_http() {
    local ns=$1
    bg "$ns" "http-$ns" python3 -m http.server 8080 --directory "$WORK/www"
    wait_port "$ns" 8080
}

# Self-signed CA, server and client certificates (RSA 2048) in $WORK/pki.
make_pki() {
    local p="$WORK/pki"
    [ -f "$p/ca.crt" ] && return 0
    mkdir -p "$p"
    (
        cd "$p"
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt \
            -days 30 -subj "/CN=gateward test CA" \
            -addext basicConstraints=critical,CA:TRUE \
            -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        for who in server client; do
            openssl req -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.csr" \
                -subj "/CN=$who.gateward.test" 2>/dev/null
            if [ "$who" = server ]; then
                printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:server.gateward.test,DNS:localhost,IP:%s\n' "$SRV" >"$who.ext"
            else
                printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n' >"$who.ext"
            fi
            openssl x509 -req -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
                -days 30 -out "$who.crt" -extfile "$who.ext" 2>/dev/null
        done
    )
}

# HTTPS server (openssl s_server -WWW) on port 8443 of namespace $1.
start_https() {
    local ns=$1
    make_pki
    bg "$ns" "https-$ns" sh -c "cd '$WORK/www' && exec openssl s_server -quiet -WWW -accept 8443 \
        -cert '$WORK/pki/server.crt' -key '$WORK/pki/server.key'"
    wait_port "$ns" 8443
}

# Traffic through a tunnel: pings and an 8 KiB download from $1.
tunnel_traffic() {
    local dst=$1
    shift
    ns_c ping -q -c 3 -i 0.3 -s 1000 "$@" "$dst" >/dev/null
    ns_c curl -sS --max-time 20 -o /dev/null "http://$dst:8080/data.bin" \
        ${CURL_IFACE:+--interface "$CURL_IFACE"}
}

# --- OpenVPN ---------------------------------------------------------------

# openvpn_session NAME PROTO(udp|tcp) WRAP(none|tls-crypt|tls-auth)
openvpn_session() {
    local name=$1 proto=$2 wrap=$3 d="$WORK/openvpn-$1" sp cp wrap_s="" wrap_c=""
    make_pki
    mkdir -p "$d"
    case $proto in
        udp) sp=udp4 cp=udp4 ;;
        tcp) sp=tcp4-server cp=tcp4-client ;;
    esac
    case $wrap in
        tls-crypt)
            openvpn --genkey tls-crypt "$d/wrap.key" >/dev/null
            wrap_s="tls-crypt $d/wrap.key" wrap_c="tls-crypt $d/wrap.key" ;;
        tls-auth)
            openvpn --genkey tls-auth "$d/wrap.key" >/dev/null
            wrap_s="tls-auth $d/wrap.key 0" wrap_c="tls-auth $d/wrap.key 1" ;;
        none) ;;
    esac
    cat >"$d/server.conf" <<EOF
dev tun
proto $sp
local $SRV
port 1194
topology subnet
server 10.8.0.0 255.255.255.0
ca $WORK/pki/ca.crt
cert $WORK/pki/server.crt
key $WORK/pki/server.key
dh none
keepalive 10 60
$wrap_s
data-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305
disable-dco
verb 3
EOF
    cat >"$d/client.conf" <<EOF
client
dev tun
proto $cp
remote $SRV 1194
nobind
ca $WORK/pki/ca.crt
cert $WORK/pki/client.crt
key $WORK/pki/client.key
remote-cert-tls server
$wrap_c
disable-dco
verb 3
EOF
    net_up
    bg "$NS_S" ovpn-server openvpn --config "$d/server.conf"
    wait_log "$LOG/ovpn-server.log" 'Initialization Sequence Completed'
    start_http "$NS_S"
    capture_start
    bg "$NS_C" ovpn-client openvpn --config "$d/client.conf"
    wait_log "$LOG/ovpn-client.log" 'Initialization Sequence Completed' 30
    tunnel_traffic 10.8.0.1
    kill -TERM "$LAST_PID"
    wait "$LAST_PID" || true
    capture_save "$name" 400
    net_down
}

rec_openvpn() {
    openvpn_session openvpn-udp-tlscrypt udp tls-crypt
    openvpn_session openvpn-udp-plain udp none
    openvpn_session openvpn-udp-tlsauth udp tls-auth
    openvpn_session openvpn-tcp-tlscrypt tcp tls-crypt
    openvpn_session openvpn-tcp-plain tcp none
    openvpn_session openvpn-tcp-tlsauth tcp tls-auth
}

# --- WireGuard (wireguard-go: this kernel has no wireguard module) ---------

# wg_dev NS IFNAME ADDR KEYFILE. The interface names differ per side:
# wireguard-go's control socket is /var/run/wireguard/IFNAME.sock, and
# /var/run is shared by the namespaces.
wg_dev() {
    local ns=$1 dev=$2 addr=$3 key=$4
    bg "$ns" "$dev" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$dev"
    for _ in $(seq 50); do
        [ -S "/var/run/wireguard/$dev.sock" ] && break
        sleep 0.1
    done
    ip netns exec "$ns" wg set "$dev" private-key "$key"
    ip netns exec "$ns" ip addr add "$addr/24" dev "$dev"
    ip netns exec "$ns" ip link set "$dev" mtu 1420 up
}

rec_wireguard() {
    local d="$WORK/wg"
    mkdir -p "$d"
    (umask 077; wg genkey >"$d/s.key"; wg genkey >"$d/c.key")
    wg pubkey <"$d/s.key" >"$d/s.pub"
    wg pubkey <"$d/c.key" >"$d/c.pub"
    net_up
    wg_dev "$NS_S" gwwg-srv 10.9.0.1 "$d/s.key"
    ns_s wg set gwwg-srv listen-port 51820 peer "$(cat "$d/c.pub")" allowed-ips 10.9.0.2/32
    wg_dev "$NS_C" gwwg-cli 10.9.0.2 "$d/c.key"
    ns_c wg set gwwg-cli peer "$(cat "$d/s.pub")" allowed-ips 10.9.0.1/32 endpoint "$SRV:51820"
    start_http "$NS_S"
    capture_start
    tunnel_traffic 10.9.0.1
    capture_save wireguard 400
    net_down
}

# --- IPsec: strongSwan charon, IKEv2 with PSK -----------------------------
#
# The development VM's kernel has no ESP (CONFIG_INET_ESP is off: `ip xfrm
# state add ... proto esp` fails with "Requested type not found"), so:
#  - ipsec-ikev2-natt: the CHILD_SA uses strongSwan's userland
#    kernel-libipsec backend, which in 5.9.8 always UDP-encapsulates ESP
#    (NAT-T, port 4500; raw ESP needs 5.9.11). `encap = yes` also fakes the
#    NAT detection payloads (the swanctl form of forceencaps=yes). IKE_SA_INIT
#    on UDP 500, IKE_AUTH and ESP-in-UDP on UDP 4500.
#  - ipsec-ikev2-udp500: kernel-netlink backend, MOBIKE off, no NAT: the whole
#    exchange stays on UDP 500; the kernel refuses the ESP SAs, so the
#    responder answers the CHILD_SA with NO_PROPOSAL_CHOSEN (IKE_SA_INIT,
#    IKE_AUTH, INFORMATIONAL delete; no ESP). On a kernel with ESP the same
#    configuration would carry raw ESP (IP protocol 50).

charon_start() {
    local ns=$1 side=$2 d=$3 pid
    # Each charon gets a private /run (its pid file and vici socket are
    # there); unshare and sh exec, so the background pid is charon's.
    bg "$ns" "charon-$side" env STRONGSWAN_CONF="$d/strongswan.conf" \
        unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run && exec /usr/lib/ipsec/charon'
    pid=$LAST_PID
    for _ in $(seq 100); do
        nsenter -t "$pid" -m test -S /run/charon.vici 2>/dev/null && break
        sleep 0.1
    done
    nsenter -t "$pid" -m test -S /run/charon.vici || {
        tail -n 30 "$LOG/charon-$side.log" >&2
        die "charon ($side) did not start"
    }
    printf -v "CHARON_$side" '%s' "$pid"
}

swanctl_in() {
    local pid=$1
    shift
    nsenter -t "$pid" -m -n swanctl "$@"
}

# ipsec_conf LOCAL_ADDR REMOTE_ADDR LOCAL_NAME REMOTE_NAME LOCAL_TS REMOTE_TS ENCAP PSK MOBIKE
ipsec_conf() {
    cat <<EOF
connections {
    gw {
        version = 2
        local_addrs = $1
        remote_addrs = $2
        encap = $7
        mobike = $9
        proposals = aes256-sha256-modp2048
        local {
            auth = psk
            id = $3.gateward.test
        }
        remote {
            auth = psk
            id = $4.gateward.test
        }
        children {
            net {
                local_ts = $5/32
                remote_ts = $6/32
                esp_proposals = aes256gcm16
            }
        }
    }
}
secrets {
    ike-1 {
        id-1 = srv.gateward.test
        id-2 = cli.gateward.test
        secret = 0x$8
    }
}
EOF
}

# ipsec_session NAME ENCAP(yes|no) BACKEND(libipsec|netlink) MOBIKE(yes|no)
ipsec_session() {
    local name=$1 encap=$2 backend=$3 mobike=$4 d="$WORK/ipsec-$1" psk libipsec=no
    [ "$backend" = libipsec ] && libipsec=yes
    mkdir -p "$d"
    psk=$(openssl rand -hex 16)
    # Debian's settings first, then ours (later values win).
    cat >"$d/strongswan.conf" <<EOF
include /etc/strongswan.conf
charon {
    install_virtual_ip = no
    plugins {
        kernel-libipsec {
            load = $libipsec
        }
        # forecast joins multicast groups (IGMP on the wire), farp answers ARP.
        forecast {
            load = no
        }
        farp {
            load = no
        }
    }
    filelog {
        stderr {
            default = 1
            ike = 2
            time_format = %T
        }
    }
}
EOF
    ipsec_conf "$SRV" "$CLI" srv cli 10.98.1.1 10.98.2.1 "$encap" "$psk" "$mobike" >"$d/srv.conf"
    ipsec_conf "$CLI" "$SRV" cli srv 10.98.2.1 10.98.1.1 "$encap" "$psk" "$mobike" >"$d/cli.conf"
    net_up
    ns_s ip addr add 10.98.1.1/32 dev lo
    ns_c ip addr add 10.98.2.1/32 dev lo
    charon_start "$NS_S" srv "$d"
    charon_start "$NS_C" cli "$d"
    swanctl_in "$CHARON_srv" --load-all --file "$d/srv.conf" >>"$LOG/swanctl.log" 2>&1
    swanctl_in "$CHARON_cli" --load-all --file "$d/cli.conf" >>"$LOG/swanctl.log" 2>&1
    start_http "$NS_S"
    capture_start
    if [ "$backend" = libipsec ]; then
        swanctl_in "$CHARON_cli" --initiate --child net --timeout 20 >>"$LOG/swanctl.log" 2>&1
        sleep 0.5
        CURL_IFACE=10.98.2.1 tunnel_traffic 10.98.1.1 -I 10.98.2.1
    else
        # The kernel refuses the ESP SAs: the IKE_SA is established, the
        # responder answers the CHILD_SA with NO_PROPOSAL_CHOSEN.
        swanctl_in "$CHARON_cli" --initiate --child net --timeout 20 >>"$LOG/swanctl.log" 2>&1 || true
        grep -q 'IKE_SA gw\[1\] established' "$LOG/swanctl.log" || die "$name: no IKE_SA"
        sleep 1
    fi
    swanctl_in "$CHARON_cli" --terminate --ike gw --timeout 10 >>"$LOG/swanctl.log" 2>&1 || true
    capture_save "$name" 400
    net_down
}

rec_ipsec() {
    ipsec_session ipsec-ikev2-natt yes libipsec yes
    ipsec_session ipsec-ikev2-udp500 no netlink no
}

# --- SOCKS5 (microsocks) and HTTP CONNECT (tinyproxy) ------------------------

rec_socks() {
    make_www
    net_up
    start_https "$NS_S"
    bg "$NS_S" microsocks microsocks -i "$SRV" -p 1080
    wait_port "$NS_S" 1080
    capture_start
    ns_c curl -sS --max-time 20 -o /dev/null --cacert "$WORK/pki/ca.crt" \
        --socks5-hostname "$SRV:1080" https://localhost:8443/data.bin
    capture_save socks5-curl 200
    net_down
}

rec_http_connect() {
    make_www
    local d="$WORK/tinyproxy"
    mkdir -p "$d"
    cat >"$d/tinyproxy.conf" <<EOF
Port 8888
Listen $SRV
Timeout 60
MaxClients 10
Allow $CLI
ConnectPort 8443
LogLevel Info
PidFile "$d/tinyproxy.pid"
EOF
    net_up
    start_https "$NS_S"
    bg "$NS_S" tinyproxy tinyproxy -d -c "$d/tinyproxy.conf"
    wait_port "$NS_S" 8888
    capture_start
    ns_c curl -sS --max-time 20 -o /dev/null --cacert "$WORK/pki/ca.crt" \
        -p -x "http://$SRV:8888" https://localhost:8443/data.bin
    capture_save http-connect-curl 200
    net_down
}

# --- Tor: a client bootstrapping from a bridge in the other namespace ------
#
# Tor cannot reach its directory authorities here, so the client is told to
# use the relay in gw-srv as its only bridge. The capture holds the TLS
# link handshake (VERSIONS/CERTS/AUTH_CHALLENGE/NETINFO cells inside TLS)
# and the client's BEGIN_DIR fetch of the bridge's descriptor.

rec_tor() {
    local d="$WORK/tor" fp
    mkdir -p "$d/relay" "$d/client"
    chmod 700 "$d/relay" "$d/client"
    cat >"$d/relay.torrc" <<EOF
DataDirectory $d/relay
SocksPort 0
ORPort $SRV:9001
Address $SRV
Nickname gatewardtest
BridgeRelay 1
PublishServerDescriptor 0
AssumeReachable 1
ExitRelay 0
ContactInfo none
Log notice stdout
EOF
    net_up
    bg "$NS_S" tor-relay tor -f "$d/relay.torrc"
    wait_log "$LOG/tor-relay.log" 'Self-testing indicates|Bootstrapped 100|now have enough|Opening OR listener|Opened OR listener' 60
    wait_port "$NS_S" 9001 30
    for _ in $(seq 100); do [ -s "$d/relay/fingerprint" ] && break; sleep 0.2; done
    fp=$(awk '{print $2}' "$d/relay/fingerprint")
    cat >"$d/client.torrc" <<EOF
DataDirectory $d/client
SocksPort 127.0.0.1:9050
UseBridges 1
Bridge $SRV:9001 $fp
Log notice stdout
EOF
    capture_start
    bg "$NS_C" tor-client tor -f "$d/client.torrc"
    wait_log "$LOG/tor-client.log" 'new bridge descriptor|Bootstrapped [1-9][0-9]%' 60 || true
    sleep 3
    capture_save tor-bridge 300
    net_down
}

# --- iodine: IP over DNS between the namespaces -----------------------------

rec_iodine() {
    local pw
    pw=$(openssl rand -hex 8)
    make_www
    net_up
    bg "$NS_S" iodined iodined -f -c -P "$pw" -l "$SRV" -p 53 10.77.0.1/27 t.gateward.test
    wait_port "$NS_S" 53 10 -u
    start_http "$NS_S"
    capture_start
    # -r: no raw UDP mode, so every packet stays a DNS query or answer.
    bg "$NS_C" iodine iodine -f -r -P "$pw" "$SRV" t.gateward.test
    wait_log "$LOG/iodine.log" 'Connection setup complete' 60
    ns_c ping -q -c 3 -i 0.5 -s 200 10.77.0.1 >/dev/null
    ns_c curl -sS --max-time 30 -o /dev/null http://10.77.0.1:8080/index.html
    capture_save iodine-dns 600
    net_down
}

# --- ICMP tunnels: ptunnel-ng and the original ptunnel ----------------------
# (hans is not packaged in Debian 12.) Both forward TCP connections made to
# the client's port 8000 to 127.0.0.1:8080 on the proxy's side, carried in
# ICMP echo requests and replies. ptunnel-ng's default magic is 0xDEADC0DE,
# the original's 0xD5200880.

# icmp_tunnel_session NAME SERVER-CMD... -- CLIENT-CMD...
icmp_tunnel_session() {
    local name=$1
    shift
    local srv=() cli=()
    while [ "$1" != -- ]; do srv+=("$1"); shift; done
    shift
    cli=("$@")
    net_up
    # The kernel would answer every tunnel echo request with its own reply.
    ns_s sysctl -qw net.ipv4.icmp_echo_ignore_all=1
    start_http "$NS_S"
    bg "$NS_S" icmp-srv "${srv[@]}"
    sleep 1
    capture_start
    bg "$NS_C" icmp-cli "${cli[@]}"
    wait_port "$NS_C" 8000
    ns_c curl -sS --max-time 30 -o /dev/null http://127.0.0.1:8000/data.bin
    # ptunnel(-ng) can give a new connection the ID of the previous one when
    # they are close together; the proxy then drops it ("ID was recently in
    # use").
    sleep 2
    ns_c curl -sS --max-time 30 -o /dev/null http://127.0.0.1:8000/index.html
    capture_save "$name" "${ICMP_MAX:-400}"
    net_down
}

rec_icmp_tunnel() {
    icmp_tunnel_session ptunnel-ng-icmp \
        ptunnel-ng -r127.0.0.1 -R8080 -v 4 -o"$WORK/ptunnel-ng-srv.log" -- \
        ptunnel-ng -p"$SRV" -l8000 -r127.0.0.1 -R8080 -v 4 -o"$WORK/ptunnel-ng-cli.log"
    icmp_tunnel_session ptunnel-icmp \
        ptunnel -da 127.0.0.1 -dp 8080 -v 4 -- \
        ptunnel -p "$SRV" -lp 8000 -da 127.0.0.1 -dp 8080 -v 4
}

# --- Remote access: RDP, VNC, SSH -------------------------------------------
#
# The server is at SRV_OUT (TEST-NET-2, outside gateward's default home_net),
# so gateward reports these sessions as `outbound`. TSO/GSO/GRO are turned
# off on the captured link, so the capture holds wire-sized segments (the
# veth would otherwise hand tcpdump 64 KB super-packets).

SRV_OUT=198.51.100.1

# Turns segmentation offloads off on the given devices of namespace $1.
no_offload() {
    local ns=$1 dev
    shift
    for dev in "$@"; do
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null
    done
}

# The throwaway local user of the rdp and ssh logins: a system account with a
# random password (USER_PW) and a fresh ed25519 key ($WORK/ssh/id_user), its
# home in a temporary directory. Deleted on exit (drop_user).
make_user() {
    [ "$USER_MADE" = 1 ] && return 0
    if id "$USER_NAME" >/dev/null 2>&1; then
        die "a user '$USER_NAME' already exists; the recordings create and delete their own"
    fi
    USER_HOME=$(mktemp -d /tmp/gw-record-home.XXXXXX)
    useradd --system --no-create-home --home-dir "$USER_HOME" --shell /bin/sh "$USER_NAME"
    USER_MADE=1
    USER_PW=$(openssl rand -hex 12)
    printf '%s:%s\n' "$USER_NAME" "$USER_PW" | chpasswd
    mkdir -p "$WORK/ssh" "$USER_HOME/.ssh"
    ssh-keygen -q -t ed25519 -N '' -C gateward-test -f "$WORK/ssh/id_user"
    cp "$WORK/ssh/id_user.pub" "$USER_HOME/.ssh/authorized_keys"
    chown -R "$USER_NAME:" "$USER_HOME"
    chmod 755 "$USER_HOME"
    chmod 700 "$USER_HOME/.ssh"
    chmod 600 "$USER_HOME/.ssh/authorized_keys"
}

# Deletes the throwaway user (its processes are gone with the namespaces).
drop_user() {
    [ "$USER_MADE" = 1 ] || return 0
    userdel "$USER_NAME" || log "could not delete user $USER_NAME: remove it by hand"
    rm -rf "$USER_HOME"
    USER_MADE=0
}

# The first free X display number from 40 (for the server's Xvnc).
free_display() {
    local n
    for n in $(seq 40 99); do
        if [ ! -e "/tmp/.X$n-lock" ] && [ ! -e "/tmp/.X11-unix/X$n" ]; then
            echo "$n"
            return 0
        fi
    done
    die "no free X display"
}

# RDP: xrdp 0.9 in gw-srv (TLS security, fresh self-signed certificate),
# xrdp-sesman starting a TigerVNC Xvnc session for the user on login (the
# session program just sleeps: a black desktop), xfreerdp in gw-cli under
# xvfb-run, logging in with /u: (so the X.224 request carries the
# `Cookie: mstshash=alice` routing token) and stopped with SIGINT after 15 s.
rec_rdp() {
    local d="$WORK/rdp"
    make_user
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" \
        -days 30 -subj "/CN=rdp.gateward.test" 2>/dev/null
    printf '#!/bin/sh\nexec sleep 60\n' >"$USER_HOME/session.sh"
    chmod 755 "$USER_HOME/session.sh"
    cat >"$d/xrdp.ini" <<EOC
[Globals]
ini_version=1
fork=false
port=tcp://:3389
tcp_nodelay=true
security_layer=negotiate
crypt_level=high
certificate=$d/cert.pem
key_file=$d/key.pem
ssl_protocols=TLSv1.2, TLSv1.3
autorun=Xvnc
allow_channels=true
bitmap_cache=true
bitmap_compression=true
max_bpp=24
new_cursors=true
use_fastpath=both

[Logging]
LogFile=$d/xrdp.log
LogLevel=INFO
EnableSyslog=false

[Channels]
rdpdr=false
rdpsnd=false
drdynvc=false
cliprdr=false
rail=false
xrdpvr=false
tcutils=false

[Xvnc]
name=Xvnc
lib=libvnc.so
username=ask
password=ask
ip=127.0.0.1
port=-1
EOC
    cat >"$d/sesman.ini" <<EOC
[Globals]
ListenAddress=127.0.0.1
ListenPort=3350
EnableUserWindowManager=false
DefaultWindowManager=$USER_HOME/session.sh
ReconnectScript=$USER_HOME/session.sh

[Security]
AllowRootLogin=false
MaxLoginRetry=4
AlwaysGroupCheck=false

[Sessions]
X11DisplayOffset=$(free_display)
MaxSessions=5
KillDisconnected=true
DisconnectedTimeLimit=0
IdleTimeLimit=0
Policy=Default

[Logging]
LogFile=$d/sesman.log
LogLevel=INFO
EnableSyslog=false

[Xvnc]
param=Xvnc
param=-bs
param=-nolisten
param=tcp
param=-localhost
param=-dpi
param=96

[Chansrv]
FuseMountName=thinclient_drives

[ChansrvLogging]
LogLevel=INFO
EnableSyslog=false
EOC
    net_up "$SRV_OUT"
    no_offload "$NS_C" gw-c
    no_offload "$NS_S" gw-s
    bg "$NS_S" xrdp-sesman xrdp-sesman --nodaemon --config "$d/sesman.ini"
    wait_port "$NS_S" 3350
    bg "$NS_S" xrdp xrdp --nodaemon --config "$d/xrdp.ini"
    wait_port "$NS_S" 3389
    capture_start
    ns_c timeout 60 xvfb-run -a -s "-screen 0 1024x768x24" \
        timeout -s INT 15 xfreerdp /v:"$SRV_OUT" /u:"$USER_NAME" /p:"$USER_PW" \
        /cert:ignore /size:800x600 >>"$LOG/xfreerdp.log" 2>&1 || true
    if grep -qi 'session started successfully' "$d/sesman.log" 2>/dev/null; then
        log "rdp: sesman started the user's Xvnc session"
    else
        log "rdp: no session started (connection phase only); see $d/sesman.log"
    fi
    capture_save rdp-xfreerdp 400
    net_down
}

# VNC: TigerVNC Xvnc in gw-srv (VncAuth with a random 8-character password,
# 640x480x24, an xclock updating every second), the TigerVNC viewer in
# gw-cli under xvfb-run, stopped with SIGINT after 8 s.
rec_vnc() {
    local d="$WORK/vnc" disp
    mkdir -p "$d"
    x11vnc -storepasswd "$(openssl rand -hex 4)" "$d/passwd" >/dev/null 2>&1
    disp=$(free_display)
    net_up "$SRV_OUT"
    no_offload "$NS_C" gw-c
    no_offload "$NS_S" gw-s
    bg "$NS_S" xvnc Xvnc ":$disp" -rfbport 5900 -SecurityTypes VncAuth -rfbauth "$d/passwd" \
        -geometry 640x480 -depth 24 -nolisten tcp -desktop gateward-test
    wait_port "$NS_S" 5900
    bg "$NS_S" xclock env DISPLAY=":$disp" xclock -digital -update 1
    sleep 1
    capture_start
    ns_c timeout 40 xvfb-run -a -s "-screen 0 1024x768x24" \
        timeout -s INT 8 xtigervncviewer -passwd "$d/passwd" "$SRV_OUT::5900" \
        >>"$LOG/vncviewer.log" 2>&1 || true
    capture_save vnc-tigervnc 400
    net_down
}

SSH_OPTS=(-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
    -o BatchMode=yes -o IdentitiesOnly=yes)

# OpenSSH sshd on port 2022 of namespace $1: fresh ed25519 host key, public
# key authentication only, no PAM, only the throwaway user.
start_sshd() {
    local ns=$1 d="$WORK/ssh"
    mkdir -p "$d"
    [ -f "$d/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/host_ed25519"
    if [ ! -d /run/sshd ]; then
        mkdir -m 0755 /run/sshd
        RUN_SSHD_MADE=1
    fi
    cat >"$d/sshd_config" <<EOC
Port 2022
ListenAddress 0.0.0.0
HostKey $d/host_ed25519
PidFile $d/sshd-$ns.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers $USER_NAME
Subsystem sftp /usr/lib/openssh/sftp-server
PrintMotd no
PrintLastLog no
LogLevel INFO
EOC
    bg "$ns" sshd /usr/sbin/sshd -D -e -f "$d/sshd_config"
    wait_port "$ns" 2022
}

# Types each argument as a command line, one key every 0.25 s, Enter, then
# a second's pause: an interactive session's keystroke/echo rhythm.
type_keys() {
    local line i
    for line in "$@"; do
        for ((i = 0; i < ${#line}; i++)); do
            printf '%s' "${line:i:1}"
            sleep 0.25
        done
        printf '\r'
        sleep 1
    done
}

# An interactive ssh -tt session to $2 port $1 from gw-cli: five commands
# typed key by key, the last one `exit`.
ssh_interactive() {
    local port=$1 host=$2
    (
        sleep 1.5
        type_keys "echo hello" "uname -sr" "id" "ls /" "exit"
    ) | ns_c timeout 90 ssh -tt "${SSH_OPTS[@]}" -i "$WORK/ssh/id_user" -p "$port" \
        "$USER_NAME@$host" >>"$LOG/ssh.log" 2>&1
}

# SSH: an interactive session, then a bulk one (scp of 1 MiB of random
# bytes, cut to its first 90 packets: the handshake and the start of the
# transfer).
rec_ssh() {
    make_user
    net_up "$SRV_OUT"
    no_offload "$NS_C" gw-c
    no_offload "$NS_S" gw-s
    start_sshd "$NS_S"
    capture_start
    ssh_interactive 2022 "$SRV_OUT"
    capture_save ssh-interactive 400
    openssl rand -out "$WORK/ssh/blob" 1048576
    capture_start
    ns_c timeout 60 scp -q "${SSH_OPTS[@]}" -i "$WORK/ssh/id_user" -P 2022 \
        "$WORK/ssh/blob" "$USER_NAME@$SRV_OUT:blob" >>"$LOG/ssh.log" 2>&1
    capture_save ssh-scp 90
    net_down
}

# --- A relayed SSH session and its control ----------------------------------
#
# Four namespaces in a line:
#
#   gw-cli [gw-c 10.99.0.2] -- [gw-rc 10.99.0.1 + 198.51.100.1] gw-rly
#     [gw-rd 192.0.2.1] -- [gw-dr 192.0.2.2] gw-dly [gw-ds 203.0.113.1]
#     -- [gw-s 203.0.113.2] gw-srv
#
# gw-rly routes (ip_forward) and runs socat on 198.51.100.1:2222, which
# terminates the client's TCP connection and opens its own to sshd on
# 203.0.113.2:2022. gw-dly routes too, through a delay line: every packet
# crossing it is held 40 ms (each way, so 80 ms round trip between gw-rly and
# gw-srv). This VM's kernel has no netem (CONFIG_NET_SCH_NETEM off), so the
# delay line is a TUN device and a small Python loop: policy routing sends
# every packet arriving on gw-dr or gw-ds into the TUN, the loop writes it
# back 40 ms later, and it is routed on from there.
#
# The capture is on gw-c (client to relay, no delay). ssh-relay: the client
# connects to the relay: the TCP handshake is answered at once by socat,
# while every SSH exchange takes the 80 ms to the server and back.
# ssh-direct-delay (control): the client connects to 203.0.113.2 itself,
# routed through the same two namespaces: the TCP handshake and the SSH
# exchanges both take 80 ms.

RLY_GW=10.99.0.1
RLY_PUB=198.51.100.1
S_FAR=203.0.113.2

# The delay line (see above): tun name, delay in ms. Prints "ready" once the
# device exists.
write_delayline() {
    cat >"$WORK/delayline.py" <<'EOC'
import fcntl, heapq, os, select, struct, sys, time

name, delay = sys.argv[1], float(sys.argv[2]) / 1000.0
fd = os.open("/dev/net/tun", os.O_RDWR)
# TUNSETIFF, IFF_TUN | IFF_NO_PI
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", name.encode(), 0x0001 | 0x1000))
print("ready", flush=True)
queue, seq = [], 0
while True:
    wait = max(0.0, queue[0][0] - time.monotonic()) if queue else None
    if select.select([fd], [], [], wait)[0]:
        heapq.heappush(queue, (time.monotonic() + delay, seq, os.read(fd, 65535)))
        seq += 1
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        os.write(fd, heapq.heappop(queue)[2])
EOC
}

net_relay_up() {
    local ns dev
    net_down
    SESSION=$((SESSION + 1))
    LOG="$WORK/log/$SESSION"
    mkdir -p "$LOG"
    for ns in "$NS_C" "$NS_R" "$NS_D" "$NS_S"; do
        ip netns add "$ns"
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
        ip netns exec "$ns" ip link set lo up
    done
    ip link add gw-c netns "$NS_C" address "$MAC_C" type veth \
        peer name gw-rc netns "$NS_R" address "$MAC_S"
    ip link add gw-rd netns "$NS_R" address 02:00:c0:00:02:01 type veth \
        peer name gw-dr netns "$NS_D" address 02:00:c0:00:02:02
    ip link add gw-ds netns "$NS_D" address 02:00:cb:00:71:01 type veth \
        peer name gw-s netns "$NS_S" address 02:00:cb:00:71:02
    ns_c ip addr add "$CLI/24" dev gw-c
    ip netns exec "$NS_R" ip addr add "$RLY_GW/24" dev gw-rc
    ip netns exec "$NS_R" ip addr add "$RLY_PUB/32" dev gw-rc
    ip netns exec "$NS_R" ip addr add 192.0.2.1/24 dev gw-rd
    ip netns exec "$NS_D" ip addr add 192.0.2.2/24 dev gw-dr
    ip netns exec "$NS_D" ip addr add 203.0.113.1/24 dev gw-ds
    ns_s ip addr add "$S_FAR/24" dev gw-s
    for dev in "$NS_C:gw-c" "$NS_R:gw-rc" "$NS_R:gw-rd" "$NS_D:gw-dr" "$NS_D:gw-ds" "$NS_S:gw-s"; do
        ip netns exec "${dev%%:*}" ip link set "${dev#*:}" up
        no_offload "${dev%%:*}" "${dev#*:}"
    done
    ns_c ip route add default via "$RLY_GW"
    ip netns exec "$NS_R" ip route add default via 192.0.2.2
    ip netns exec "$NS_D" ip route add 10.99.0.0/24 via 192.0.2.1
    ip netns exec "$NS_D" ip route add "$RLY_PUB/32" via 192.0.2.1
    ns_s ip route add default via 203.0.113.1
    for ns in "$NS_R" "$NS_D"; do
        ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
    done
    # Packets re-enter gw-dly from the TUN: no reverse-path filtering there.
    ip netns exec "$NS_D" sysctl -qw net.ipv4.conf.all.rp_filter=0
    ip netns exec "$NS_D" sysctl -qw net.ipv4.conf.default.rp_filter=0
    write_delayline
    bg "$NS_D" delayline python3 "$WORK/delayline.py" gwdly0 40
    wait_log "$LOG/delayline.log" '^ready' 10
    ip netns exec "$NS_D" ip link set gwdly0 up
    ip netns exec "$NS_D" ip route add default dev gwdly0 table 100
    ip netns exec "$NS_D" ip rule add iif gw-dr lookup 100
    ip netns exec "$NS_D" ip rule add iif gw-ds lookup 100
    # Resolve every neighbour now (and check the path and its delay).
    ns_c ping -q -c 1 -W 2 "$RLY_GW" >/dev/null
    ns_c ping -q -c 2 -W 2 "$S_FAR" | tail -n 1 >>"$LOG/path.log"
    log "client to server through the delay line: $(cat "$LOG/path.log")"
}

rec_ssh_relay() {
    make_user
    net_relay_up
    start_sshd "$NS_S"
    bg "$NS_R" socat socat "TCP-LISTEN:2222,bind=$RLY_PUB,reuseaddr,fork" "TCP:$S_FAR:2022"
    wait_port "$NS_R" 2222
    capture_start
    ssh_interactive 2222 "$RLY_PUB"
    capture_save ssh-relay 400
    capture_start
    ssh_interactive 2022 "$S_FAR"
    capture_save ssh-direct-delay 400
    net_down
}

# --- benign controls ---------------------------------------------------------

rec_control() {
    make_www
    # Plain HTTPS and HTTP to the test server.
    net_up
    start_https "$NS_S"
    start_http "$NS_S"
    capture_start
    ns_c curl -sS --max-time 20 -o /dev/null --cacert "$WORK/pki/ca.crt" \
        --resolve "server.gateward.test:8443:$SRV" https://server.gateward.test:8443/data.bin
    ns_c curl -sS --max-time 20 -o /dev/null "http://$SRV:8080/index.html"
    capture_save control-web 200
    net_down

    # Ordinary DNS lookups against a local authoritative dnsmasq.
    net_up
    bg "$NS_S" dnsmasq dnsmasq -k -C /dev/null --no-resolv --no-hosts --listen-address="$SRV" \
        --bind-interfaces --auth-server=ns.gateward.test --auth-zone=gateward.test \
        --host-record=www.gateward.test,10.99.0.10 --host-record=mail.gateward.test,10.99.0.11 \
        --host-record=server.gateward.test,$SRV --mx-host=gateward.test,mail.gateward.test,10 \
        --txt-record=gateward.test,"v=spf1 mx -all" --cname=intranet.gateward.test,www.gateward.test \
        --user=root
    wait_port "$NS_S" 53 10 -u
    capture_start
    for q in "www.gateward.test A" "mail.gateward.test A" "gateward.test MX" "gateward.test TXT" \
        "intranet.gateward.test A" "server.gateward.test A" "www.gateward.test AAAA" "nothere.gateward.test A"; do
        # shellcheck disable=SC2086
        ns_c dig +tries=1 +time=2 +noedns @"$SRV" $q >/dev/null
        sleep 0.2
    done
    capture_save control-dns 100
    net_down

    # Plain ping.
    net_up
    capture_start
    ns_c ping -q -c 5 -i 0.2 "$SRV" >/dev/null
    capture_save control-ping 50
    net_down
}

ALL=(openvpn wireguard ipsec socks http_connect tor iodine icmp_tunnel control rdp vnc ssh ssh_relay)

# === issue 12: IPsec without IKE, OpenVPN static key and IPv6, ocserv =====
#
# These families record what a sensor started late sees, and VPN variants:
#  - ipsec_noike: strongSwan with the kernel's xfrm (this VM's kernel has ESP
#    and AH); the capture starts only AFTER the CHILD_SA is up, so the
#    captures hold no IKE_SA_INIT/IKE_AUTH at all. ESP tunnel mode, ESP
#    transport mode, AH transport mode (IP protocol 51), ESP-in-UDP on 4500
#    (NAT-T forced, no IKE seen), and a rekey (CHILD_SA rekey_time 6 s: the
#    ESP SPIs change in the middle of the capture; the CREATE_CHILD_SA
#    exchange is encrypted IKE on UDP 500).
#  - openvpn_static: `--secret` static-key mode (no TLS, no opcode byte),
#    UDP and TCP, two cipher/auth pairs.
#  - openvpn_v6: TLS mode over IPv6 transport (UDP, and TCP on port 443).
#  - ocserv: ocserv + openconnect (CSTP over TLS on 443 and the DTLS channel).

# ipsec_noike_conf SIDE MODE PROTO ENCAP REKEY PSK: one side's swanctl.conf.
ipsec_noike_conf() {
    local side=$1 mode=$2 proto=$3 encap=$4 rekey=$5 psk=$6 la ra ln rn lts rts prop life=""
    if [ "$side" = srv ]; then
        la=$SRV ra=$CLI ln=srv rn=cli lts=10.98.1.1 rts=10.98.2.1
    else
        la=$CLI ra=$SRV ln=cli rn=srv lts=10.98.2.1 rts=10.98.1.1
    fi
    if [ "$mode" = transport ]; then
        lts=$la rts=$ra
    fi
    if [ "$proto" = ah ]; then
        prop="ah_proposals = sha256"
    else
        prop="esp_proposals = aes128gcm16"
    fi
    if [ "$rekey" != 0 ]; then
        life="rekey_time = ${rekey}s
                rand_time = 0"
    fi
    cat <<CONF
connections {
    gw {
        version = 2
        local_addrs = $la
        remote_addrs = $ra
        encap = $encap
        mobike = no
        proposals = aes256-sha256-modp2048
        local {
            auth = psk
            id = $ln.gateward.test
        }
        remote {
            auth = psk
            id = $rn.gateward.test
        }
        children {
            net {
                local_ts = $lts/32
                remote_ts = $rts/32
                mode = $mode
                $prop
                $life
            }
        }
    }
}
secrets {
    ike-1 {
        id-1 = srv.gateward.test
        id-2 = cli.gateward.test
        secret = 0x$psk
    }
}
CONF
}

# esp_session NAME MODE(tunnel|transport) PROTO(esp|ah) SA-PAIRS(1|2): raw ESP
# or AH (IP protocol 50/51) between the two namespaces by scapy's IPsec
# implementation (esp_peer.py next to this script; the kernel here has no
# esp4/ah4, and strongSwan 5.9.8's userland backend only does ESP in UDP).
# Keys and SPIs are random per run, as after an IKE nobody captured; two
# SA pairs = a rekey halfway (new SPIs both ways, sequence numbers from 1).
esp_session() {
    local name=$1 mode=$2 proto=$3 pairs=$4 d="$WORK/esp-$1" klen=20
    mkdir -p "$d"
    [ "$proto" = ah ] && klen=32
    /usr/bin/python3 - "$d/sa.json" "$mode" "$proto" "$pairs" "$klen" "$SRV" "$CLI" "$d/ready" <<'PY'
import json, os, sys
path, mode, proto, pairs, klen, srv, cli, ready = sys.argv[1:]
def sa():
    spi = int.from_bytes(os.urandom(4), "big") | 0x100
    return {"spi": spi, "key": os.urandom(int(klen)).hex()}
inner = ("10.98.1.1", "10.98.2.1") if mode == "tunnel" else (srv, cli)
json.dump({"mode": mode, "proto": proto, "srv": srv, "cli": cli,
           "inner_srv": inner[0], "inner_cli": inner[1], "ready": ready,
           "packets": 24, "gap": 0.1,
           "sas": [{"c2s": sa(), "s2c": sa()} for _ in range(int(pairs))]},
          open(path, "w"))
PY
    net_up
    bg "$NS_S" esp-server /usr/bin/python3 "$HERE/esp_peer.py" server "$d/sa.json"
    local srv_pid=$LAST_PID
    for _ in $(seq 100); do
        [ -f "$d/ready" ] && break
        sleep 0.1
    done
    [ -f "$d/ready" ] || die "$name: esp_peer server did not start"
    capture_start
    ns_c /usr/bin/python3 "$HERE/esp_peer.py" client "$d/sa.json" >>"$LOG/esp-client.log" 2>&1 \
        || die "$name: too few answers ($(cat "$LOG/esp-client.log"))"
    wait "$srv_pid" || true
    capture_save "$name" 300
    net_down
}

# strongswan_natt_noike NAME REKEY(0|seconds): strongSwan with its userland
# ESP (kernel-libipsec, ESP in UDP 4500), the capture started after the
# CHILD_SA is up: ESP-in-UDP and NAT-T keepalives with no IKE_SA_INIT seen.
strongswan_natt_noike() {
    local name=$1 rekey=$2 d="$WORK/ipsec-$1" psk
    mkdir -p "$d"
    psk=$(openssl rand -hex 16)
    cat >"$d/strongswan.conf" <<CONF
include /etc/strongswan.conf
charon {
    install_virtual_ip = no
    plugins {
        kernel-libipsec {
            load = yes
        }
        forecast {
            load = no
        }
        farp {
            load = no
        }
    }
    filelog {
        stderr {
            default = 1
            ike = 2
            time_format = %T
        }
    }
}
CONF
    ipsec_noike_conf srv tunnel esp yes "$rekey" "$psk" >"$d/srv.conf"
    ipsec_noike_conf cli tunnel esp yes "$rekey" "$psk" >"$d/cli.conf"
    net_up
    ns_s ip addr add 10.98.1.1/32 dev lo
    ns_c ip addr add 10.98.2.1/32 dev lo
    charon_start "$NS_S" srv "$d"
    charon_start "$NS_C" cli "$d"
    swanctl_in "$CHARON_srv" --load-all --file "$d/srv.conf" >>"$LOG/swanctl.log" 2>&1
    swanctl_in "$CHARON_cli" --load-all --file "$d/cli.conf" >>"$LOG/swanctl.log" 2>&1
    start_http "$NS_S"
    swanctl_in "$CHARON_cli" --initiate --child net --timeout 20 >>"$LOG/swanctl.log" 2>&1
    grep -q "CHILD_SA net{1} established" "$LOG/swanctl.log" || die "$name: no CHILD_SA"
    # The sensor starts late: IKE is over before the first captured packet.
    sleep 1
    capture_start
    if [ "$rekey" != 0 ]; then
        ns_c ping -q -c $((rekey * 2 + 8)) -i 0.5 -s 64 -I 10.98.2.1 10.98.1.1 >/dev/null
    else
        CURL_IFACE=10.98.2.1 tunnel_traffic 10.98.1.1 -I 10.98.2.1
    fi
    capture_save "$name" 300
    swanctl_in "$CHARON_cli" --terminate --ike gw --timeout 10 >>"$LOG/swanctl.log" 2>&1 || true
    net_down
}

rec_ipsec_noike() {
    esp_session ipsec-esp-tunnel-noike tunnel esp 1
    esp_session ipsec-esp-transport-noike transport esp 1
    esp_session ipsec-esp-rekey-noike tunnel esp 2
    esp_session ipsec-ah-transport-noike transport ah 1
    esp_session ipsec-ah-tunnel-noike tunnel ah 1
    strongswan_natt_noike ipsec-natt-noike 0
    strongswan_natt_noike ipsec-natt-rekey-noike 6
}

ALL+=(ipsec_noike)

main() {
    [ $# -gt 0 ] || set -- all
    if [ "$1" = list ]; then
        printf '%s\n' "${ALL[@]}"
        return 0
    fi
    [ "$(id -u)" = 0 ] || die "run as root (namespaces, tcpdump)"
    if [ "$1" = all ]; then
        set -- "${ALL[@]}"
    fi
    for t in "$@"; do
        declare -F "rec_$t" >/dev/null || die "unknown recording '$t' (try: list)"
    done
    WORK=$(mktemp -d /tmp/gw-record.XXXXXX)
    LOG="$WORK/log/0"
    mkdir -p "$LOG" "$OUT"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    make_www
    for t in "$@"; do
        log "recording $t"
        "rec_$t"
    done
    # The checksum list tests/recorded.rs checks; README.md's table must be
    # brought in step by hand (name, size, packets, sha256 below).
    (cd "$OUT" && sha256sum -- *.pcap >SHA256SUMS)
    log "wrote $OUT/SHA256SUMS; update README.md with:"
    (
        cd "$OUT"
        for f in *.pcap; do
            printf '%s\t%s bytes\t%s packets\t%s\n' "$f" "$(stat -c %s "$f")" \
                "$(capinfos -M -c -T "$f" | awk -F'\t' 'NR==2{print $2}')" "$(sha256sum "$f" | cut -d' ' -f1)"
        done
    ) >&2
}

# --- Parsers off the textbook (issue 12, class 7) ---------------------------

# TLS in TCP Fast Open SYN data (RFC 7413): curl --tcp-fastopen to the
# openssl test server. tcp_fastopen 0x5 on the client (enable + data in the
# SYN without a cookie) and 0x602 on the server (enable + accept data
# without a cookie + no per-socket option needed), so the very first SYN
# carries the ClientHello.
rec_tfo() {
    make_www
    net_up
    ns_s sysctl -qw net.ipv4.tcp_fastopen=0x602
    ns_c sysctl -qw net.ipv4.tcp_fastopen=0x5
    start_https "$NS_S"
    capture_start
    ns_c curl -sS --max-time 20 --tcp-fastopen -o /dev/null --cacert "$WORK/pki/ca.crt" \
        --resolve "server.gateward.test:8443:$SRV" https://server.gateward.test:8443/index.html
    capture_save tfo-tls 60
    net_down
}

ALL+=(tfo)

# An SSH server that prints text before its banner (RFC 4253 section 4.2:
# "The server MAY send other lines of data before sending the version
# string"). OpenSSH's sshd cannot, so a small front on port 2222 of the
# server namespace writes two lines and then relays both ways to sshd on
# 127.0.0.1:2022: the client still talks to the real sshd. ssh runs one
# command (`id`) as the throwaway user.
PREBANNER_PY='
import socket, sys, threading
front = socket.socket(); front.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
front.bind(("0.0.0.0", 2222)); front.listen(1); print("ready", flush=True)
c, _ = front.accept()
c.sendall(b"Welcome to the gateward test bastion\r\nAuthorised use only.\r\n")
s = socket.create_connection(("127.0.0.1", 2022))
def pipe(a, b):
    try:
        while (d := a.recv(65536)):
            b.sendall(d)
    except OSError:
        pass
    for x in (a, b):
        try: x.shutdown(socket.SHUT_RDWR)
        except OSError: pass
t = threading.Thread(target=pipe, args=(s, c)); t.start(); pipe(c, s); t.join()
'
rec_ssh_prebanner() {
    make_user
    net_up "$SRV_OUT"
    start_sshd "$NS_S"
    bg "$NS_S" prebanner python3 -c "$PREBANNER_PY"
    wait_port "$NS_S" 2222
    capture_start
    ns_c timeout 60 ssh "${SSH_OPTS[@]}" -i "$WORK/ssh/id_user" -p 2222 \
        "$USER_NAME@$SRV_OUT" id >>"$LOG/ssh.log" 2>&1
    capture_save ssh-prebanner 80
    net_down
}

# Telnet where the server speaks first (RFC 854/855): inetutils telnetd
# (run per connection by socat, as inetd would) opens with its option
# negotiation (IAC DO TERMINAL-TYPE ...) before the client sends a byte;
# the client answers, sees the login prompt and leaves.
rec_telnet() {
    net_up "$SRV_OUT"
    bg "$NS_S" telnetd socat TCP-LISTEN:23,reuseaddr EXEC:"/usr/sbin/telnetd -h",nofork
    wait_port "$NS_S" 23
    capture_start
    ( sleep 3; printf 'nobody\r\n'; sleep 2 ) | ns_c timeout 20 telnet "$SRV_OUT" 23 \
        >>"$LOG/telnet.log" 2>&1 || true
    capture_save telnet-server-first 60
    net_down
}

ALL+=(ssh_prebanner telnet)

# Reverse SOCKS: the proxy dials out and is then driven over that
# connection. In gw-cli (the proxy's side) microsocks listens on
# 127.0.0.1:1080 and socat connects out to 10.99.0.1:4444 and on to it; in
# gw-srv (the operator's side) socat accepts 4444 and then offers it on
# 127.0.0.1:1081, where curl --socks5-hostname fetches the test page from
# 10.99.0.1:8443 through the proxy. On the wire of TCP 4444 the responder
# sends the SOCKS5 greeting and request, the initiator answers as proxy.
rec_socks_reverse() {
    make_www
    net_up
    start_https "$NS_S"
    bg "$NS_C" microsocks microsocks -i 127.0.0.1 -p 1080
    wait_port "$NS_C" 1080
    bg "$NS_S" socat-srv socat TCP-LISTEN:4444,reuseaddr TCP-LISTEN:1081,bind=127.0.0.1,reuseaddr
    wait_port "$NS_S" 4444
    capture_start
    bg "$NS_C" socat-cli socat TCP:"$SRV":4444 TCP:127.0.0.1:1080
    wait_port "$NS_S" 1081
    ns_s curl -sS --max-time 20 -o /dev/null --cacert "$WORK/pki/ca.crt" \
        --socks5-hostname 127.0.0.1:1081 "https://$SRV:8443/index.html"
    capture_save socks5-reverse 100
    net_down
}

ALL+=(socks_reverse)

# --- VPN protocol variants (issue 12, class 5) ------------------------------
#
# OpenVPN in the modes the first recordings lack (static key, tls-crypt-v2,
# IPv6 transport, TCP 443 shared with a web server, other data ciphers, the
# capture started after the handshake), ocserv + openconnect (CSTP with and
# without its DTLS channel) and WireGuard variants.

SRV6=fd99::1
CLI6=fd99::2

# net_up6: net_up plus IPv6 on the veth (fd99::1 server, fd99::2 client),
# no DAD, no router solicitations, permanent neighbour entries (no ND in the
# capture); CAPTURE_FILTER must then include ip6.
net_up6() {
    net_up
    local ns dev
    for ns in "$NS_S" "$NS_C"; do
        [ "$ns" = "$NS_S" ] && dev=gw-s || dev=gw-c
        ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.accept_ra=0" \
            "net.ipv6.conf.$dev.router_solicitations=0" "net.ipv6.conf.$dev.disable_ipv6=0"
    done
    ns_s ip -6 addr add "$SRV6/64" dev gw-s nodad
    ns_c ip -6 addr add "$CLI6/64" dev gw-c nodad
    ns_s ip -6 neigh replace "$CLI6" lladdr "$MAC_C" dev gw-s nud permanent
    ns_c ip -6 neigh replace "$SRV6" lladdr "$MAC_S" dev gw-c nud permanent
    # Let the MLD reports of the freshly enabled interfaces pass.
    sleep 3
}

# ovpn_variant NAME PROTO(udp|tcp) AUTH(tls|tls-auth|tls-crypt|tls-crypt-v2|static|p2p-tls) FAMILY(4|6)
#   PORT MIDSTREAM(0|1) SERVER-LINES CLIENT-LINES
# SERVER-/CLIENT-LINES are extra configuration lines (\n-separated).
# MIDSTREAM=1 starts the capture after both sides report the tunnel up.
# With OVPN_PORTSHARE=1 the server shares its TCP port with an HTTPS server
# (openssl s_server on 127.0.0.1:8443 of the server namespace, `port-share`)
# and the client fetches a page through that port before the tunnel.
ovpn_variant() {
    local name=$1 proto=$2 auth=$3 fam=$4 port=$5 mid=$6 xs=$7 xc=$8
    local d="$WORK/ovpn-$name" sp cp srv=$SRV srvurl=$SRV ifc_s="" ifc_c="" key_s="" key_c=""
    make_pki
    mkdir -p "$d"
    case $proto in
        udp) sp=udp$fam cp=udp$fam ;;
        tcp) sp=tcp$fam-server cp=tcp$fam-client ;;
    esac
    [ "$fam" = 6 ] && srv=$SRV6 srvurl="[$SRV6]"
    case $auth in
        static)
            openvpn --genkey secret "$d/static.key" >/dev/null
            key_s="secret $d/static.key 0" key_c="secret $d/static.key 1"
            ifc_s="ifconfig 10.8.0.1 10.8.0.2" ifc_c="ifconfig 10.8.0.2 10.8.0.1" ;;
        tls-crypt-v2)
            openvpn --genkey tls-crypt-v2-server "$d/v2s.key" >/dev/null
            openvpn --tls-crypt-v2 "$d/v2s.key" --genkey tls-crypt-v2-client "$d/v2c.key" >/dev/null
            key_s="tls-crypt-v2 $d/v2s.key" key_c="tls-crypt-v2 $d/v2c.key" ;;
        tls-auth)
            openvpn --genkey tls-auth "$d/ta.key" >/dev/null
            key_s="tls-auth $d/ta.key 0" key_c="tls-auth $d/ta.key 1" ;;
        tls-crypt)
            openvpn --genkey tls-crypt "$d/tc.key" >/dev/null
            key_s="tls-crypt $d/tc.key" key_c="tls-crypt $d/tc.key" ;;
        tls) ;;
    esac
    if [ "$auth" = p2p-tls ]; then
        # Point-to-point TLS mode (no server/client pull).
        key_s="tls-server\nca $WORK/pki/ca.crt\ncert $WORK/pki/server.crt\nkey $WORK/pki/server.key\ndh none"
        key_c="tls-client\nca $WORK/pki/ca.crt\ncert $WORK/pki/client.crt\nkey $WORK/pki/client.key\nremote-cert-tls server"
        ifc_s="ifconfig 10.8.0.1 10.8.0.2" ifc_c="ifconfig 10.8.0.2 10.8.0.1"
    fi
    if [ "$auth" = static ] || [ "$auth" = p2p-tls ]; then
        printf 'dev tun\nproto %s\nlocal %s\nport %s\n%b\n%s\nkeepalive 10 60\ndisable-dco\nverb 3\n' \
            "$sp" "$srv" "$port" "$key_s" "$ifc_s" >"$d/server.conf"
        printf 'dev tun\nproto %s\nremote %s %s\nnobind\n%b\n%s\nkeepalive 10 60\ndisable-dco\nverb 3\n' \
            "$cp" "$srv" "$port" "$key_c" "$ifc_c" >"$d/client.conf"
    else
        cat >"$d/server.conf" <<CONF
dev tun
proto $sp
local $srv
port $port
topology subnet
server 10.8.0.0 255.255.255.0
ca $WORK/pki/ca.crt
cert $WORK/pki/server.crt
key $WORK/pki/server.key
dh none
keepalive 10 60
$key_s
disable-dco
verb 3
CONF
        cat >"$d/client.conf" <<CONF
client
dev tun
proto $cp
remote $srv $port
nobind
ca $WORK/pki/ca.crt
cert $WORK/pki/client.crt
key $WORK/pki/client.key
remote-cert-tls server
$key_c
disable-dco
verb 3
CONF
    fi
    printf '%b\n' "$xs" >>"$d/server.conf"
    printf '%b\n' "$xc" >>"$d/client.conf"
    if [ "$fam" = 6 ]; then
        net_up6
        CAPTURE_FILTER="ip or ip6"
    else
        net_up
        CAPTURE_FILTER=ip
    fi
    no_offload "$NS_S" gw-s
    no_offload "$NS_C" gw-c
    start_http "$NS_S"
    if [ "${OVPN_PORTSHARE:-0}" = 1 ]; then
        bg "$NS_S" https-lo sh -c "cd '$WORK/www' && exec openssl s_server -quiet -WWW -accept 127.0.0.1:8443 \
            -cert '$WORK/pki/server.crt' -key '$WORK/pki/server.key'"
        wait_port "$NS_S" 8443
    fi
    bg "$NS_S" ovpn-server openvpn --config "$d/server.conf"
    if [ "$proto" = udp ]; then
        wait_port "$NS_S" "$port" 20 -u
    else
        wait_port "$NS_S" "$port" 20 -t
    fi
    [ "$mid" = 1 ] || capture_start
    if [ "${OVPN_PORTSHARE:-0}" = 1 ]; then
        ns_c curl -sS --max-time 20 -o /dev/null --cacert "$WORK/pki/ca.crt" \
            --resolve "server.gateward.test:$port:$SRV" "https://server.gateward.test:$port/index.html"
    fi
    bg "$NS_C" ovpn-client openvpn --config "$d/client.conf"
    local cli_pid=$LAST_PID
    if [ "$auth" = static ]; then
        wait_log "$LOG/ovpn-client.log" 'Initialization Sequence Completed' 30
        wait_log "$LOG/ovpn-server.log" 'Peer Connection Initiated' 30 || true
    else
        wait_log "$LOG/ovpn-client.log" 'Initialization Sequence Completed' 30
    fi
    if [ "$mid" = 1 ]; then
        # The sensor starts late: only data packets from here on.
        sleep 2
        capture_start
    fi
    # OVPN_IDLE: seconds of an idle tunnel (pings only) before the traffic.
    sleep "${OVPN_IDLE:-0}"
    tunnel_traffic 10.8.0.1
    if [ "${OVPN_PORTSHARE:-0}" = 1 ]; then
        ns_c curl -sS --max-time 20 -o /dev/null --cacert "$WORK/pki/ca.crt" \
            --resolve "server.gateward.test:$port:$SRV" "https://server.gateward.test:$port/data.bin"
    fi
    kill -TERM "$cli_pid"
    wait "$cli_pid" || true
    capture_save "$name" 300
    CAPTURE_FILTER=ip
    net_down
}

rec_openvpn_variants() {
    # Static key (no TLS): CBC + HMAC, the packet id inside the ciphertext.
    ovpn_variant openvpn-udp-static-sha256 udp static 4 1194 0 'cipher AES-256-CBC\nauth SHA256' 'cipher AES-256-CBC\nauth SHA256'
    ovpn_variant openvpn-tcp-static-sha1 tcp static 4 1194 0 'cipher AES-256-CBC\nauth SHA1' 'cipher AES-256-CBC\nauth SHA1'
    ovpn_variant openvpn-udp-static-aes128-sha512 udp static 4 5000 0 'cipher AES-128-CBC\nauth SHA512' 'cipher AES-128-CBC\nauth SHA512'
    ovpn_variant openvpn-tcp-static-sha256 tcp static 4 443 0 'cipher AES-256-CBC\nauth SHA256' 'cipher AES-256-CBC\nauth SHA256'
    # Static key captured mid-session: an idle tunnel (keepalive 2 20: pings every 2 s)
    # and then traffic, no OCC exchange.
    OVPN_IDLE=5 ovpn_variant openvpn-udp-static-midstream udp static 4 1194 1 'cipher AES-256-CBC\nauth SHA256\nkeepalive 2 20' 'cipher AES-256-CBC\nauth SHA256\nkeepalive 2 20'
    # tls-crypt-v2: the client key travels wrapped in the first packet.
    ovpn_variant openvpn-udp-tlscryptv2 udp tls-crypt-v2 4 1194 0 '' ''
    ovpn_variant openvpn-tcp-tlscryptv2 tcp tls-crypt-v2 4 1194 0 '' ''
    # IPv6 transport.
    ovpn_variant openvpn-udp6-tlsauth udp tls-auth 6 1194 0 '' ''
    ovpn_variant openvpn-tcp6-plain tcp tls 6 1194 0 '' ''
    # TCP 443 shared with a web server (port-share).
    OVPN_PORTSHARE=1 ovpn_variant openvpn-tcp443-portshare tcp tls 4 443 0 'port-share 127.0.0.1 8443' ''
    # Data ciphers: ChaCha20-Poly1305, AES-256-CBC + HMAC (non-AEAD), a
    # client in 2.3 compatibility mode (the server still pushes a peer id:
    # P_DATA_V2), and point-to-point TLS mode (rec_openvpn_p2p).
    ovpn_variant openvpn-udp-chacha20 udp tls 4 1194 0 'data-ciphers CHACHA20-POLY1305' 'data-ciphers CHACHA20-POLY1305'
    ovpn_variant openvpn-udp-cbc udp tls 4 1194 0 'data-ciphers AES-256-CBC\nauth SHA256' 'data-ciphers AES-256-CBC\nauth SHA256'
    ovpn_variant openvpn-udp-compat23 udp tls 4 1194 0 'data-ciphers AES-256-GCM:AES-256-CBC\ndata-ciphers-fallback AES-256-CBC' 'compat-mode 2.3.0\ncipher AES-256-CBC\ndata-ciphers AES-256-CBC'
    # The capture starts after the handshake: data packets only.
    ovpn_variant openvpn-udp-midstream udp tls-crypt 4 1194 1 '' ''
    ovpn_variant openvpn-tcp-midstream tcp tls-auth 4 1194 1 '' ''
}

# Point-to-point TLS mode (tls-server/tls-client, no pull), both sides in
# 2.3 compatibility mode. Meant to force P_DATA_V1, but two 2.6 peers still
# agree on P_DATA_V2 (p2p NCP); P_DATA_V1 needs a pre-2.4 peer.
rec_openvpn_p2p() {
    ovpn_variant openvpn-udp-p2p-tls udp p2p-tls 4 1194 0 'compat-mode 2.3.0\ndata-ciphers-fallback AES-256-CBC' 'compat-mode 2.3.0\ndata-ciphers-fallback AES-256-CBC'
}

# The same, alone (for re-recording it).
rec_openvpn_static_midstream() {
    OVPN_IDLE=5 ovpn_variant openvpn-udp-static-midstream udp static 4 1194 1 'cipher AES-256-CBC\nauth SHA256\nkeepalive 2 20' 'cipher AES-256-CBC\nauth SHA256\nkeepalive 2 20'
}

ALL+=(openvpn_variants openvpn_p2p)

# --- OpenConnect (openconnect) to ocserv: CSTP over TLS, DTLS channel -------

# ocserv_session NAME DTLS(psk|legacy|none) [OPENCONNECT-OPTIONS...]
# ocserv 1.1 on TCP 443 (and UDP 443 unless DTLS=none) with password
# login; openconnect with a small vpnc-script stand-in that only brings
# its tun device up (the stock vpnc-script would edit /etc/resolv.conf,
# shared by the namespaces). DTLS=psk: openconnect's default, DTLS 1.2 keyed
# from the CSTP session (PSK-NEGOTIATE); legacy: the pre-standard
# AnyConnect DTLS (session resumption, `dtls-legacy`) forced with
# --dtls-ciphers; none: no UDP port, CSTP only.
ocserv_session() {
    local name=$1 dtls=$2 d="$WORK/ocserv-$1" pw udp="" sock
    shift 2
    make_pki
    mkdir -p "$d"
    # The workers run as nobody and must reach sec-mod's socket: not in
    # $WORK (mode 0700).
    sock="$WORK/ocserv-sock-$name"
    mkdir -p "$sock"
    chmod 0711 "$WORK"
    chmod 0755 "$sock"
    pw=$(openssl rand -hex 12)
    printf '%s\n%s\n' "$pw" "$pw" | ocpasswd -c "$d/passwd" alice
    [ "$dtls" = none ] || udp="udp-port = 443"
    cat >"$d/ocserv.conf" <<CONF
auth = "plain[passwd=$d/passwd]"
listen-host = $SRV
tcp-port = 443
$udp
run-as-user = nobody
run-as-group = nogroup
socket-file = $sock/ocserv.sock
pid-file = $sock/ocserv.pid
server-cert = $WORK/pki/server.crt
server-key = $WORK/pki/server.key
isolate-workers = false
max-clients = 4
max-same-clients = 4
keepalive = 300
dpd = 60
mobile-dpd = 300
try-mtu-discovery = false
tls-priorities = "NORMAL:%SERVER_PRECEDENCE"
auth-timeout = 60
cookie-timeout = 300
deny-roaming = false
rekey-time = 172800
rekey-method = ssl
use-occtl = false
device = vpns
predictable-ips = true
ipv4-network = 10.10.0.0
ipv4-netmask = 255.255.255.0
ping-leases = false
cisco-client-compat = true
dtls-legacy = true
CONF
    cat >"$d/script.sh" <<'SCRIPT'
#!/bin/sh
# vpnc-script stand-in: bring the tun device up with its address.
if [ "$reason" = connect ]; then
    ip link set dev "$TUNDEV" up mtu "${INTERNAL_IP4_MTU:-1400}"
    ip addr add "$INTERNAL_IP4_ADDRESS/32" peer 10.10.0.1 dev "$TUNDEV"
fi
exit 0
SCRIPT
    chmod 0755 "$d/script.sh"
    net_up
    no_offload "$NS_S" gw-s
    no_offload "$NS_C" gw-c
    start_http "$NS_S"
    bg "$NS_S" ocserv ocserv -f -d 1 -c "$d/ocserv.conf"
    wait_port "$NS_S" 443 20 -t
    capture_start
    printf '%s\n' "$pw" | ip netns exec "$NS_C" openconnect --user=alice --passwd-on-stdin \
        --cafile "$WORK/pki/ca.crt" --script "$d/script.sh" --non-inter "$@" "https://$SRV/" \
        >>"$LOG/openconnect.log" 2>&1 &
    local cli_pid=$!
    wait_log "$LOG/openconnect.log" 'Configured as|Connected as' 30
    if [ "$dtls" != none ]; then
        wait_log "$LOG/openconnect.log" 'Established DTLS|DTLS connected|DTLS handshake' 20 || true
    fi
    sleep 1
    tunnel_traffic 10.10.0.1
    kill -INT "$cli_pid" 2>/dev/null || true
    wait "$cli_pid" || true
    capture_save "$name" 300
    net_down
}

rec_ocserv() {
    ocserv_session ocserv-dtls-psk psk
    ocserv_session ocserv-dtls-legacy legacy --dtls-ciphers=AES128-SHA
    ocserv_session ocserv-dtls12-gcm legacy --dtls-ciphers=OC-DTLS1_2-AES128-GCM
    ocserv_session ocserv-cstp-only none --no-dtls
}

ALL+=(ocserv)

# --- WireGuard variants ------------------------------------------------------

# wg_variant NAME FAMILY(4|6) PORT MIDSTREAM(0|1) KEEPALIVE(0|client|both)
# wireguard-go as in rec_wireguard (interface names hawg-*). MIDSTREAM=1
# starts the capture after the handshake and a first exchange; with
# KEEPALIVE set (persistent-keepalive 1 s on the client, or on both) the
# capture holds no tunnel traffic, only keepalives.
wg_variant() {
    local name=$1 fam=$2 port=$3 mid=$4 ka=$5 d="$WORK/wg-$1" ep=$SRV ka_c="" ka_s=""
    mkdir -p "$d"
    (umask 077; wg genkey >"$d/s.key"; wg genkey >"$d/c.key")
    wg pubkey <"$d/s.key" >"$d/s.pub"
    wg pubkey <"$d/c.key" >"$d/c.pub"
    case $ka in
        client) ka_c="persistent-keepalive 1" ;;
        both) ka_c="persistent-keepalive 1" ka_s="persistent-keepalive 1" ;;
    esac
    if [ "$fam" = 6 ]; then
        net_up6
        CAPTURE_FILTER="ip or ip6"
        ep="[$SRV6]"
    else
        net_up
        CAPTURE_FILTER=ip
    fi
    wg_dev "$NS_S" hawg-srv 10.9.0.1 "$d/s.key"
    # shellcheck disable=SC2086
    ns_s wg set hawg-srv listen-port "$port" peer "$(cat "$d/c.pub")" allowed-ips 10.9.0.2/32 $ka_s
    wg_dev "$NS_C" hawg-cli 10.9.0.2 "$d/c.key"
    start_http "$NS_S"
    if [ "$ka" = both ]; then
        # The server's keepalives need the client's endpoint: fixed port.
        ns_c wg set hawg-cli listen-port 51999
        # shellcheck disable=SC2086
        ns_s wg set hawg-srv peer "$(cat "$d/c.pub")" endpoint "$( [ "$fam" = 6 ] && echo "[$CLI6]" || echo "$CLI"):51999"
    fi
    # shellcheck disable=SC2086
    ns_c wg set hawg-cli peer "$(cat "$d/s.pub")" allowed-ips 10.9.0.1/32 endpoint "$ep:$port" $ka_c
    if [ "$mid" = 1 ]; then
        ns_c ping -q -c 2 -i 0.3 10.9.0.1 >/dev/null
        sleep 1
    fi
    capture_start
    if [ "$ka" = 0 ]; then
        tunnel_traffic 10.9.0.1
    else
        sleep 9
    fi
    capture_save "$name" 300
    CAPTURE_FILTER=ip
    net_down
}

rec_wireguard_variants() {
    wg_variant wireguard-port443 4 443 0 0
    wg_variant wireguard-port53 4 53 0 0
    wg_variant wireguard-ipv6 6 51820 0 0
    wg_variant wireguard-midstream 4 51820 1 0
    wg_variant wireguard-keepalive-client 4 51820 1 client
    wg_variant wireguard-keepalive-both 4 40000 1 both
}

ALL+=(wireguard_variants)

# === issue 12, class 3: DNS tunnels spread over many flows ================
#
# A stub resolver runs in gw-cli on 127.0.0.1:53 (dnsmasq forwarding the
# tunnel zone, or unbound with the zone as a stub zone, i.e. iterative
# queries to the zone's authoritative server) and the tunnel or exfiltration
# client asks it; the capture on gw-c holds only the resolver's upstream
# queries, each from a fresh random source port: one query per flow, as a
# gateway between a company resolver and the internet sees a tunnel. The
# `*-direct` exfiltration captures have no resolver (each dig is a new
# process and port, as between clients and their resolver).
# The server side is the tunnel server (iodined, dns2tcpd) or, for the
# exfiltration and benign captures, an authoritative dnsmasq.

# resolver_up KIND(dnsmasq|unbound) ZONE...: stub resolver in gw-cli.
resolver_up() {
    local kind=$1 z
    shift
    case $kind in
        dnsmasq)
            local args=()
            for z in "$@"; do args+=("--server=/$z/$SRV"); done
            bg "$NS_C" resolver dnsmasq -k -C /dev/null --no-resolv --no-hosts --cache-size=0 \
                --listen-address=127.0.0.1 --bind-interfaces --user=root "${args[@]}"
            ;;
        unbound)
            local conf="$WORK/unbound-$SESSION.conf"
            {
                printf 'server:\n  interface: 127.0.0.1\n  port: 53\n  do-daemonize: no\n'
                printf '  username: ""\n  chroot: ""\n  pidfile: ""\n  use-syslog: no\n  logfile: ""\n'
                printf '  directory: "%s"\n  do-ip6: no\n  access-control: 127.0.0.0/8 allow\n' "$WORK"
                printf '  module-config: "iterator"\n  qname-minimisation: no\n  msg-cache-size: 0\n  rrset-cache-size: 0\n'
                printf '  local-zone: "test." nodefault\n  local-zone: "100.51.198.in-addr.arpa." nodefault\n'
                for z in "$@"; do
                    printf '  domain-insecure: "%s"\nstub-zone:\n  name: "%s"\n  stub-addr: %s\nserver:\n' "$z" "$z" "$SRV"
                done
            } >"$conf"
            bg "$NS_C" resolver unbound -d -c "$conf"
            ;;
    esac
    wait_port "$NS_C" 53 10 -u
}

# iodine_session NAME RESOLVER IODINE-ARGS...: iodined in gw-srv for
# t.gateward.test, iodine -r (no raw UDP) through the resolver, ping and a
# download through the tunnel; keeps the first 400 packets.
iodine_session() {
    local name=$1 resolver=$2 pw
    shift 2
    pw=$(openssl rand -hex 8)
    net_up
    bg "$NS_S" iodined iodined -f -c -P "$pw" -l "$SRV" -p 53 10.77.0.1/27 t.gateward.test
    wait_port "$NS_S" 53 10 -u
    start_http "$NS_S"
    resolver_up "$resolver" t.gateward.test
    capture_start
    bg "$NS_C" iodine iodine -f -r -P "$pw" "$@" 127.0.0.1 t.gateward.test
    wait_log "$LOG/iodine.log" 'Connection setup complete' 90
    ns_c ping -q -c 3 -i 0.5 -s 200 10.77.0.1 >/dev/null || true
    ns_c curl -sS --max-time 30 -o /dev/null http://10.77.0.1:8080/index.html || true
    capture_save "$name" 400
    net_down
}

rec_iodine_spread() {
    local t
    for t in NULL TXT CNAME MX SRV PRIVATE A; do
        iodine_session "iodine-spread-${t,,}" dnsmasq -T "$t"
    done
    iodine_session iodine-spread-txt-base32 unbound -T TXT -O base32
    iodine_session iodine-spread-txt-base64 dnsmasq -T TXT -O base64
    iodine_session iodine-spread-cname-base64u unbound -T CNAME -O base64u
    iodine_session iodine-spread-mx-base128 dnsmasq -T MX -O base128
    iodine_session iodine-spread-txt-raw unbound -T TXT -O raw
    iodine_session iodine-spread-null-short unbound -T NULL -M 100
    # The handshake alone: a wrong password, so iodine stops after its
    # version and login probes.
    local pw
    pw=$(openssl rand -hex 8)
    net_up
    bg "$NS_S" iodined iodined -f -c -P "$pw" -l "$SRV" -p 53 10.77.0.1/27 t.gateward.test
    wait_port "$NS_S" 53 10 -u
    resolver_up dnsmasq t.gateward.test
    capture_start
    ns_c timeout 20 iodine -f -r -P wrong-password 127.0.0.1 t.gateward.test >>"$LOG/iodine.log" 2>&1 || true
    capture_save iodine-spread-handshake 100
    net_down
}

# dns2tcp_session NAME RESOLVER TYPE: dns2tcpd for d.gateward.test with
# resource web -> the HTTP server; dns2tcpc through the resolver.
dns2tcp_session() {
    local name=$1 resolver=$2 type=$3 conf="$WORK/dns2tcpd-$SESSION.conf"
    net_up
    start_http "$NS_S"
    mkdir -p "$WORK/d2t-root"
    printf 'listen = %s\nport = 53\nuser = nobody\nchroot = %s\ndomain = d.gateward.test\nresources = web:127.0.0.1:8080\n' \
        "$SRV" "$WORK/d2t-root" >"$conf"
    bg "$NS_S" dns2tcpd dns2tcpd -F -d 1 -f "$conf"
    wait_port "$NS_S" 53 10 -u
    resolver_up "$resolver" d.gateward.test
    capture_start
    bg "$NS_C" dns2tcpc dns2tcpc -z d.gateward.test -r web -l 8000 -T "$type" 127.0.0.1
    wait_port "$NS_C" 8000 20
    ns_c curl -sS --max-time 40 -o /dev/null http://127.0.0.1:8000/index.html || true
    sleep 1
    capture_save "$name" 400
    net_down
}

rec_dns2tcp_spread() {
    dns2tcp_session dns2tcp-spread-txt dnsmasq TXT
    dns2tcp_session dns2tcp-spread-key unbound KEY
}

# Authoritative dnsmasq in gw-srv answering every name below
# x.gateward.test with an A record, and NXDOMAIN below n.gateward.test.
exfil_server() {
    bg "$NS_S" authdns dnsmasq -k -C /dev/null --no-resolv --no-hosts --listen-address="$SRV" \
        --bind-interfaces --user=root --address=/x.gateward.test/192.0.2.7 --address=/n.gateward.test/
    wait_port "$NS_S" 53 10 -u
}

# exfil_session NAME RESOLVER(dnsmasq|unbound|direct) ENCODING(base32|hex|base64url)
# LABEL-LEN ZONE QTYPE TOOL(dig|host): sends a 3 KiB file as DNS names
# <seq>.<chunk labels>.<zone>, one lookup per process.
exfil_session() {
    local name=$1 resolver=$2 enc=$3 len=$4 zone=$5 qtype=$6 tool=$7 dns=127.0.0.1 i=0 chunk data
    net_up
    exfil_server
    if [ "$resolver" = direct ]; then dns=$SRV; else resolver_up "$resolver" "$zone"; fi
    head -c 3072 /dev/urandom >"$WORK/secret.bin"
    case $enc in
        base32) data=$(base32 -w0 "$WORK/secret.bin" | tr -d '=' | tr 'A-Z' 'a-z') ;;
        hex) data=$(od -An -v -tx1 "$WORK/secret.bin" | tr -d ' \n') ;;
        base64url) data=$(basenc --base64url -w0 "$WORK/secret.bin" | tr -d '=') ;;
    esac
    capture_start
    while [ -n "$data" ] && [ "$i" -lt 150 ]; do
        chunk=${data:0:$len}
        data=${data:$len}
        # Two labels of up to 63 bytes each.
        local q="${chunk:0:63}"
        [ ${#chunk} -gt 63 ] && q="$q.${chunk:63}"
        case $tool in
            dig) ns_c dig +tries=1 +time=1 @"$dns" "$i.$q.$zone" "$qtype" >/dev/null || true ;;
            host) ns_c host -W 1 -t "$qtype" "$i.$q.$zone" "$dns" >/dev/null || true ;;
        esac
        i=$((i + 1))
    done
    capture_save "$name" 400
    net_down
}

rec_dns_exfil() {
    exfil_session exfil-base32-dnsmasq dnsmasq base32 60 x.gateward.test A dig
    exfil_session exfil-hex-unbound-txt unbound hex 60 x.gateward.test TXT dig
    exfil_session exfil-base32-direct direct base32 100 x.gateward.test A dig
    exfil_session exfil-hex-nxdomain-host dnsmasq hex 40 n.gateward.test A host
    exfil_session exfil-base64url-unbound unbound base64url 50 x.gateward.test AAAA dig
    exfil_session exfil-hex-short-direct direct hex 20 n.gateward.test TXT host
}

# Benign DNS through the same resolvers: many ordinary names of many
# domains, CDN names with long hashed labels, DNSSEC (DNSKEY/DS with +dnssec),
# SPF/DKIM/DMARC TXT look-ups, SRV, MX, and a PTR sweep of a /24, answered by
# an authoritative dnsmasq for every zone (NXDOMAIN or NODATA where it has no
# record, as real servers answer most such look-ups).
benign_names() {
    python3 - <<'EOF'
import hashlib
h = lambda s, n: hashlib.sha256(s.encode()).hexdigest()[:n]
out = []
for d in ["example.com", "example.org", "shop.example", "news.example", "bank.example",
          "mail.example", "video.example", "social.example", "maps.example", "cloud.example"]:
    for sub in ["www", "api", "static", "img", "login", "cdn", "m", "mail", "accounts", "assets"]:
        out.append((f"{sub}.{d}", "A"))
        out.append((f"{sub}.{d}", "AAAA"))
    out.append((d, "MX")); out.append((d, "TXT")); out.append((f"_dmarc.{d}", "TXT"))
    for sel in ["google", "selector1", "selector2", "s1", "k1"]:
        out.append((f"{sel}._domainkey.{d}", "TXT"))
    out.append((f"_spf.{d}", "TXT")); out.append((d, "DNSKEY")); out.append((d, "DS"))
    out.append((f"_sip._tls.{d}", "SRV")); out.append((f"_xmpp-client._tcp.{d}", "SRV"))
for i in range(40):
    out.append((f"e{1000+i*37}.dscb.akamaiedge.example", "A"))
    out.append((f"d{h('cf%d'%i,13)}.cloudfront.example", "A"))
    out.append((f"r{i%8}---sn-{h('gv%d'%i,8)}.googlevideo.example", "A"))
    out.append((f"{h('sf%d'%i,32)}.safeframe.googlesyndication.example", "A"))
    out.append((f"ec2-203-0-113-{i}.compute-1.amazonaws.example", "A"))
    out.append((f"internal-web-lb-{h('lb%d'%i,10)}.us-east-1.elb.amazonaws.example", "A"))
    out.append((f"{h('u%d'%i,8)}-{h('v%d'%i,4)}-{h('w%d'%i,4)}-{h('x%d'%i,4)}-{h('y%d'%i,12)}.telemetry.example", "A"))
    out.append((f"_acme-challenge.host{i}.example.net", "TXT"))
for i in range(1, 129):
    out.append((f"{i}.100.51.198.in-addr.arpa", "PTR"))
import random
random.Random(12).shuffle(out)
for n, t in out:
    print(n, t)
EOF
}

# benign_session NAME RESOLVER(dnsmasq|unbound|direct) FIRST COUNT
benign_session() {
    local name=$1 resolver=$2 first=$3 count=$4 dns=127.0.0.1 n t
    net_up
    bg "$NS_S" authdns dnsmasq -k -C /dev/null --no-resolv --no-hosts --listen-address="$SRV" \
        --bind-interfaces --user=root --address=/example.com/192.0.2.10 --address=/example.org/192.0.2.11 \
        --address=/example/192.0.2.12 --address=/example.net/192.0.2.13 \
        --ptr-record=5.100.51.198.in-addr.arpa,host5.example.net \
        --txt-record=example.com,"v=spf1 include:_spf.example.com ~all" \
        --txt-record=google._domainkey.example.com,"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
    wait_port "$NS_S" 53 10 -u
    if [ "$resolver" = direct ]; then dns=$SRV; else resolver_up "$resolver" example.com example.org example example.net 51.198.in-addr.arpa; fi
    benign_names >"$WORK/benign-names.txt"
    capture_start
    sed -n "${first},$((first + count - 1))p" "$WORK/benign-names.txt" | while read -r n t; do
        ns_c dig +tries=1 +time=1 +dnssec @"$dns" "$n" "$t" >/dev/null || true
    done
    capture_save "$name" 0
    net_down
}

rec_dns_benign() {
    benign_session dns-benign-dnsmasq dnsmasq 1 260
    benign_session dns-benign-unbound unbound 261 260
    benign_session dns-benign-direct direct 521 260
}

# ICMP tunnels of few packets (issue 12, class 5): ptunnel-ng with a magic
# of its own (-m) and the original ptunnel with a password (-x), cut to
# their first packets, as a sensor that saw only the start of a session
# (or a tunnel used for a few exchanges) holds them.
rec_icmp_few() {
    ICMP_MAX=6 icmp_tunnel_session ptunnel-ng-magic-few \
        ptunnel-ng -m 0x5eed1e55 -r127.0.0.1 -R8080 -v 4 -o"$WORK/ptunnel-ng-srv.log" -- \
        ptunnel-ng -m 0x5eed1e55 -p"$SRV" -l8000 -r127.0.0.1 -R8080 -v 4 -o"$WORK/ptunnel-ng-cli.log"
    ICMP_MAX=4 icmp_tunnel_session ptunnel-pw-few \
        ptunnel -x gateward-test -da 127.0.0.1 -dp 8080 -v 4 -- \
        ptunnel -x gateward-test -p "$SRV" -lp 8000 -da 127.0.0.1 -dp 8080 -v 4
}

ALL+=(iodine_spread dns2tcp_spread dns_exfil dns_benign icmp_few)

# --- Fully encrypted and obfuscated proxies (issue 12, class 4) -------------
#
# Each proxy session carries four kinds of inner traffic, one proxied TCP
# connection each, in this order: a plain HTTP page, an HTTPS download (a
# TLS handshake inside), an SSH login running `id` (the server speaks
# first), and a bulk download of 1 MiB of random bytes (cut by the packet
# limit). The client program (curl, ssh through `nc -X 5`) talks to the
# proxy's local SOCKS5 port 127.0.0.1:1080 in gw-cli; the proxy server in
# gw-srv reaches the targets at 127.0.0.1 (HTTP 8080, HTTPS 8443, sshd
# 2022), so only the proxy's own connection crosses the captured link.
# Offloads are off so the capture holds wire-sized segments.

PROXY_INNER=(http tls ssh bulk)

# The targets in gw-srv (and the throwaway ssh user).
proxy_targets() {
    make_user
    [ -f "$WORK/www/bulk.bin" ] || openssl rand -out "$WORK/www/bulk.bin" 1048576
    start_http "$NS_S"
    start_https "$NS_S"
    start_sshd "$NS_S"
    no_offload "$NS_C" gw-c
    no_offload "$NS_S" gw-s
}

# proxy_inner [SOCKS-PORT]: the inner connections through the SOCKS5 port.
proxy_inner() {
    local socks=127.0.0.1:${1:-1080} k
    for k in "${PROXY_INNER[@]}"; do
        case $k in
            http) ns_c curl -sS --max-time 20 -o /dev/null --socks5-hostname "$socks" \
                http://127.0.0.1:8080/index.html ;;
            tls) ns_c curl -sS --max-time 20 -o /dev/null --cacert "$WORK/pki/ca.crt" \
                --socks5-hostname "$socks" https://localhost:8443/data.bin ;;
            ssh) ns_c timeout 30 ssh "${SSH_OPTS[@]}" -i "$WORK/ssh/id_user" \
                -o ProxyCommand="nc -X 5 -x $socks %h %p" -p 2022 "$USER_NAME@127.0.0.1" id \
                >>"$LOG/ssh.log" 2>&1 ;;
            bulk) ns_c curl -sS --max-time 30 -o /dev/null --socks5-hostname "$socks" \
                http://127.0.0.1:8080/bulk.bin ;;
        esac
        sleep 0.5
    done
}

# ss_session NAME METHOD [SERVER-PLUGIN SERVER-OPTS CLIENT-PLUGIN CLIENT-OPTS]:
# shadowsocks-libev ss-server on 10.99.0.1:8388 and ss-local (SOCKS5 on
# 127.0.0.1:1080) with cipher METHOD, optionally through a SIP003 plugin.
ss_session() {
    local name=$1 method=$2 splug=${3:-} sopts=${4:-} cplug=${5:-} copts=${6:-} pw
    local sargs=() cargs=()
    pw=$(openssl rand -hex 12)
    [ -n "$splug" ] && sargs=(--plugin "$splug" --plugin-opts "$sopts")
    [ -n "$cplug" ] && cargs=(--plugin "$cplug" --plugin-opts "$copts")
    make_pki
    net_up
    proxy_targets
    bg "$NS_S" ss-server ss-server -s "$SRV" -p 8388 -k "$pw" -m "$method" -t 30 -v "${sargs[@]}"
    wait_port "$NS_S" 8388
    bg "$NS_C" ss-local ss-local -s "$SRV" -p 8388 -b 127.0.0.1 -l 1080 -k "$pw" -m "$method" \
        -t 30 -v "${cargs[@]}"
    wait_port "$NS_C" 1080
    sleep 0.5
    capture_start
    proxy_inner
    capture_save "$name" 140
    net_down
}

rec_shadowsocks() {
    ss_session ss-aes-128-gcm aes-128-gcm
    ss_session ss-aes-256-gcm aes-256-gcm
    ss_session ss-chacha20-ietf-poly1305 chacha20-ietf-poly1305
    ss_session ss-xchacha20-ietf-poly1305 xchacha20-ietf-poly1305
    ss_session ss-aes-192-gcm aes-192-gcm
    ss_session ss-stream-aes-256-cfb aes-256-cfb
    ss_session ss-stream-chacha20-ietf chacha20-ietf
    ss_session ss-stream-aes-128-ctr aes-128-ctr
    ss_session ss-stream-rc4-md5 rc4-md5
    ss_session ss-stream-salsa20 salsa20
}

rec_shadowsocks_plugins() {
    make_pki
    ss_session ss-obfs-http chacha20-ietf-poly1305 obfs-server "obfs=http" \
        obfs-local "obfs=http;obfs-host=www.example.org"
    ss_session ss-obfs-tls aes-256-gcm obfs-server "obfs=tls" \
        obfs-local "obfs=tls;obfs-host=www.example.org"
    ss_session ss-v2ray-plugin-ws aes-128-gcm ss-v2ray-plugin "server" \
        ss-v2ray-plugin ""
    ss_session ss-v2ray-plugin-wss chacha20-ietf-poly1305 ss-v2ray-plugin \
        "server;tls;host=server.gateward.test;cert=$WORK/pki/server.crt;key=$WORK/pki/server.key" \
        ss-v2ray-plugin "tls;host=server.gateward.test;cert=$WORK/pki/ca.crt"
}

ALL+=(shadowsocks shadowsocks_plugins)

# obfs4 (obfs4proxy) as a Tor bridge's pluggable transport: the bridge in
# gw-srv serves obfs4 on 10.99.0.1:9443 with iat-mode $2, the client tor
# uses that bridge line; the inner traffic is Tor's own link handshake and
# directory fetches, inside obfs4 framing.
obfs4_session() {
    local name=$1 iat=$2 d="$WORK/obfs4-$1" fp cert
    mkdir -p "$d/relay" "$d/client"
    chmod 700 "$d/relay" "$d/client"
    cat >"$d/relay.torrc" <<EOF
DataDirectory $d/relay
SocksPort 0
ORPort 127.0.0.1:9001
Address $SRV
Nickname gatewardobfs
BridgeRelay 1
PublishServerDescriptor 0
AssumeReachable 1
ExitRelay 0
ContactInfo none
ServerTransportPlugin obfs4 exec /usr/bin/obfs4proxy
ServerTransportListenAddr obfs4 $SRV:9443
ServerTransportOptions obfs4 iat-mode=$iat
ExtORPort auto
Log notice stdout
EOF
    net_up
    no_offload "$NS_C" gw-c
    no_offload "$NS_S" gw-s
    bg "$NS_S" tor-relay tor -f "$d/relay.torrc"
    wait_port "$NS_S" 9443 60
    for _ in $(seq 100); do [ -s "$d/relay/pt_state/obfs4_bridgeline.txt" ] && break; sleep 0.2; done
    fp=$(awk '{print $2}' "$d/relay/fingerprint")
    cert=$(grep -o 'cert=[^ ]*' "$d/relay/pt_state/obfs4_bridgeline.txt")
    cat >"$d/client.torrc" <<EOF
DataDirectory $d/client
SocksPort 127.0.0.1:9050
UseBridges 1
ClientTransportPlugin obfs4 exec /usr/bin/obfs4proxy
Bridge obfs4 $SRV:9443 $fp $cert iat-mode=$iat
Log notice stdout
EOF
    capture_start
    bg "$NS_C" tor-client tor -f "$d/client.torrc"
    wait_log "$LOG/tor-client.log" 'new bridge descriptor|Bootstrapped [1-9][0-9]%' 60 || true
    sleep 3
    capture_save "$name" 200
    net_down
}

rec_obfs4() {
    obfs4_session obfs4-iat0 0
    obfs4_session obfs4-iat1 1
    obfs4_session obfs4-iat2 2
}

ALL+=(obfs4)

# trojan (trojan-gfw): the server on 10.99.0.1:443 (TLS with the test
# certificate, falling back to the HTTP server for anything not Trojan), the
# client's SOCKS5 on 127.0.0.1:1080. $2: the client's TLS 1.3 suites ("" =
# TLS 1.2 only, the client's max_version capped through cipher_tls13 and
# the server's cipher list).
trojan_session() {
    local name=$1 tls13=$2 d="$WORK/trojan-$1" pw
    pw=$(openssl rand -hex 12)
    make_pki
    mkdir -p "$d"
    cat >"$d/server.json" <<EOF
{"run_type": "server", "local_addr": "$SRV", "local_port": 443,
 "remote_addr": "127.0.0.1", "remote_port": 8080, "password": ["$pw"], "log_level": 1,
 "ssl": {"cert": "$WORK/pki/server.crt", "key": "$WORK/pki/server.key",
         "alpn": ["http/1.1"], "cipher_tls13": "$tls13"}}
EOF
    cat >"$d/client.json" <<EOF
{"run_type": "client", "local_addr": "127.0.0.1", "local_port": 1080,
 "remote_addr": "$SRV", "remote_port": 443, "password": ["$pw"], "log_level": 1,
 "ssl": {"verify": true, "verify_hostname": true, "cert": "$WORK/pki/ca.crt",
         "sni": "server.gateward.test", "cipher_tls13": "$tls13"}}
EOF
    net_up
    proxy_targets
    bg "$NS_S" trojan-server trojan -c "$d/server.json"
    wait_port "$NS_S" 443
    bg "$NS_C" trojan-client trojan -c "$d/client.json"
    wait_port "$NS_C" 1080
    capture_start
    proxy_inner
    capture_save "$name" 140
    net_down
}

rec_trojan() {
    trojan_session trojan-tls13 "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
    trojan_session trojan-tls13-chacha "TLS_CHACHA20_POLY1305_SHA256"
}

ALL+=(trojan)

# v2ray 4.34: client inbound SOCKS5 on 127.0.0.1:1080, outbound $2 (vmess
# or vless) to 10.99.0.1:10086 over transport $3 (tcp, ws, tls, ws+tls);
# $4: VMess body security (aes-128-gcm, chacha20-poly1305, none) or the
# VMess alterId with "legacy" (alterId 16: the MD5 auth header of VMess
# before AEAD headers).
v2ray_session() {
    local name=$1 proto=$2 net=$3 sec=${4:-aes-128-gcm} d="$WORK/v2ray-$1" id stream user alter=0
    id=$(cat /proc/sys/kernel/random/uuid)
    mkdir -p "$d"
    make_pki
    case $sec in legacy) alter=16 sec=aes-128-gcm ;; esac
    case $net in
        tcp) stream='{"network": "tcp"}' ;;
        ws) stream='{"network": "ws", "wsSettings": {"path": "/gw"}}' ;;
        tls) stream="{\"network\": \"tcp\", \"security\": \"tls\", \"tlsSettings\": {\"serverName\": \"server.gateward.test\", \"certificates\": [{\"certificateFile\": \"$WORK/pki/SIDE.crt\", \"keyFile\": \"$WORK/pki/server.key\", \"usage\": \"USAGE\"}]}}" ;;
        ws+tls) stream="{\"network\": \"ws\", \"wsSettings\": {\"path\": \"/gw\"}, \"security\": \"tls\", \"tlsSettings\": {\"serverName\": \"server.gateward.test\", \"certificates\": [{\"certificateFile\": \"$WORK/pki/SIDE.crt\", \"keyFile\": \"$WORK/pki/server.key\", \"usage\": \"USAGE\"}]}}" ;;
    esac
    if [ "$proto" = vmess ]; then
        user="{\"id\": \"$id\", \"alterId\": $alter, \"security\": \"$sec\"}"
        srv_settings="{\"clients\": [{\"id\": \"$id\", \"alterId\": $alter}]}"
        cli_settings="{\"vnext\": [{\"address\": \"$SRV\", \"port\": 10086, \"users\": [$user]}]}"
    else
        srv_settings="{\"clients\": [{\"id\": \"$id\"}], \"decryption\": \"none\"}"
        cli_settings="{\"vnext\": [{\"address\": \"$SRV\", \"port\": 10086, \"users\": [{\"id\": \"$id\", \"encryption\": \"none\"}]}]}"
    fi
    local sstream=${stream//SIDE/server} cstream=${stream//SIDE/ca}
    sstream=${sstream//USAGE/encipherment}
    cstream=${cstream//USAGE/verify}
    cstream=${cstream//\"keyFile\": \"$WORK\/pki\/server.key\", /}
    cat >"$d/server.json" <<EOF
{"log": {"loglevel": "warning"},
 "inbounds": [{"listen": "$SRV", "port": 10086, "protocol": "$proto",
               "settings": $srv_settings, "streamSettings": $sstream}],
 "outbounds": [{"protocol": "freedom"}]}
EOF
    cat >"$d/client.json" <<EOF
{"log": {"loglevel": "warning"},
 "inbounds": [{"listen": "127.0.0.1", "port": 1080, "protocol": "socks",
               "settings": {"auth": "noauth", "udp": false}}],
 "outbounds": [{"protocol": "$proto", "settings": $cli_settings, "streamSettings": $cstream}]}
EOF
    net_up
    proxy_targets
    bg "$NS_S" v2ray-server env V2RAY_LOCATION_ASSET=/usr/share/v2ray v2ray -config "$d/server.json"
    wait_port "$NS_S" 10086
    bg "$NS_C" v2ray-client env V2RAY_LOCATION_ASSET=/usr/share/v2ray v2ray -config "$d/client.json"
    wait_port "$NS_C" 1080
    capture_start
    proxy_inner
    capture_save "$name" 140
    net_down
}

rec_v2ray() {
    v2ray_session vmess-tcp-aes128gcm vmess tcp aes-128-gcm
    v2ray_session vmess-tcp-chacha20 vmess tcp chacha20-poly1305
    v2ray_session vmess-tcp-none vmess tcp none
    v2ray_session vmess-tcp-legacy vmess tcp legacy
    v2ray_session vless-tcp vless tcp
    v2ray_session vmess-ws vmess ws aes-128-gcm
    v2ray_session vless-ws vless ws
    v2ray_session vmess-tls vmess tls aes-128-gcm
    v2ray_session vless-tls vless tls
    v2ray_session vmess-wss vmess ws+tls aes-128-gcm
}

ALL+=(v2ray)

# --- Benign traffic for false-positive measurement (issue 12) ---------------
#
# Ordinary traffic between the same two namespaces, many flows per capture:
# the set scripts/benign-fp.sh runs gateward over. BENIGN_N scales the flow
# counts (default 1: about 1,100 flows). The captures are large: record them
# outside the repository (OUT=/some/dir); captures/recorded/ keeps a small
# sample (benign-sample, BENIGN_N has no effect on it).
#
#   benign-https    nginx TLS 1.2 and 1.3 with several cipher suites, curl
#                   and wget, one connection per request, HTTP/1.1 and h2
#   benign-http     plain HTTP downloads of 1 KiB..1 MiB, some keep-alive
#   benign-dns      dnsmasq as the resolver, dig over UDP and TCP
#   benign-ntp      chronyd serving NTP, ntpdate and chronyd -q as clients
#   benign-rsync    rsync daemon, pulls and pushes
#   benign-msg      long-lived TLS sessions with small messages both ways
#   benign-rtp      ffmpeg sending RTP video (MPEG-4 and H.264) over UDP

BENIGN_N=${BENIGN_N:-1}

# nginx in gw-srv: HTTP on 80, HTTPS on 443 (TLS 1.2 and 1.3, h2) with the
# test certificate, serving $WORK/www.
start_nginx() {
    local d="$WORK/nginx"
    make_pki
    mkdir -p "$d"
    cat >"$d/nginx.conf" <<EOF
daemon off;
user root root;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    keepalive_timeout 5;
    server {
        listen $SRV:80;
        listen $SRV:443 ssl http2;
        ssl_certificate $WORK/pki/server.crt;
        ssl_certificate_key $WORK/pki/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:AES128-GCM-SHA256:AES256-SHA;
        root $WORK/www;
    }
}
EOF
    bg "$NS_S" nginx nginx -c "$d/nginx.conf"
    wait_port "$NS_S" 443
}

# Files of several sizes for the downloads.
make_sizes() {
    local n
    for n in 1 16 64 256 1024; do
        [ -f "$WORK/www/f$n.bin" ] || head -c $((n * 1024)) /dev/urandom >"$WORK/www/f$n.bin"
    done
    [ -f "$WORK/www/text.txt" ] || python3 -c 'print("The quick brown fox jumps over the lazy dog.\n" * 4500, end="")' >"$WORK/www/text.txt"
}

benign_https() {
    local i n=$((200 * BENIGN_N)) c opts
    local ciphers=(ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305 AES128-GCM-SHA256 AES256-SHA)
    local suites=(TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256)
    local files=(index.html data.bin f1.bin f16.bin f64.bin text.txt)
    local base=(-sS --max-time 20 -o /dev/null --cacert "$WORK/pki/ca.crt" --resolve "server.gateward.test:443:$SRV")
    for ((i = 0; i < n; i++)); do
        c=$((i % 8))
        case $c in
            0 | 1 | 2) opts=(--tlsv1.2 --tls-max 1.2 --ciphers "${ciphers[i % 5]}") ;;
            3 | 4) opts=(--tlsv1.3 --tls13-ciphers "${suites[i % 3]}") ;;
            5) opts=(--http2) ;;
            6) opts=(--http1.1 --tlsv1.3) ;;
            7) opts=() ;;
        esac
        ns_c curl "${base[@]}" "${opts[@]}" "https://server.gateward.test/${files[i % 6]}" || true
    done
    for ((i = 0; i < 20 * BENIGN_N; i++)); do
        ns_c wget -q -O /dev/null --ca-certificate="$WORK/pki/ca.crt" \
            "https://$SRV/${files[i % 6]}" || true
    done
}

benign_http() {
    local i n=$((100 * BENIGN_N)) sizes=(f1.bin f16.bin f64.bin f256.bin f1024.bin text.txt index.html)
    for ((i = 0; i < n; i++)); do
        ns_c curl -sS --max-time 20 -o /dev/null "http://$SRV/${sizes[i % 7]}" || true
    done
    # Keep-alive: several files over one connection.
    for ((i = 0; i < 10 * BENIGN_N; i++)); do
        ns_c curl -sS --max-time 20 -o /dev/null -o /dev/null -o /dev/null \
            "http://$SRV/f1.bin" "http://$SRV/f16.bin" "http://$SRV/index.html" || true
    done
}

benign_dns() {
    local i n=$((300 * BENIGN_N)) types=(A AAAA MX TXT A A)
    bg "$NS_S" dnsmasq dnsmasq -k -i gw-s --bind-interfaces --no-resolv --no-hosts \
        --address=/gateward.test/10.99.0.1 --txt-record=txt.gateward.test,"v=spf1 -all" \
        --mx-host=gateward.test,mail.gateward.test,10 --log-facility=-
    wait_port "$NS_S" 53 10 -u
    for ((i = 0; i < n; i++)); do
        ns_c dig +short +tries=1 +time=2 @"$SRV" -t "${types[i % 6]}" "host$((i % 50)).gateward.test" >/dev/null || true
    done
    for ((i = 0; i < 20 * BENIGN_N; i++)); do
        ns_c dig +tcp +short +tries=1 +time=2 @"$SRV" "www$i.gateward.test" >/dev/null || true
    done
}

benign_ntp() {
    local d="$WORK/chrony" i
    mkdir -p "$d"
    printf 'local stratum 8\nallow all\nport 123\ncmdport 0\npidfile %s/chronyd.pid\ndriftfile %s/drift\n' "$d" "$d" >"$d/server.conf"
    bg "$NS_S" chronyd chronyd -d -x -f "$d/server.conf"
    wait_port "$NS_S" 123 10 -u
    sleep 1
    for ((i = 0; i < 30 * BENIGN_N; i++)); do
        ns_c ntpdate -q -p 1 "$SRV" >/dev/null 2>&1 || true
    done
    printf 'server %s iburst\ncmdport 0\npidfile %s/client.pid\n' "$SRV" "$d" >"$d/client.conf"
    for ((i = 0; i < 5 * BENIGN_N; i++)); do
        ns_c timeout 15 chronyd -Q -f "$d/client.conf" >/dev/null 2>&1 || true
    done
}

benign_rsync() {
    local d="$WORK/rsync" i
    mkdir -p "$d/share" "$d/pull"
    cp "$WORK/www/"f*.bin "$WORK/www/text.txt" "$d/share/"
    printf 'pid file = %s/rsyncd.pid\nuse chroot = no\n[share]\n  path = %s/share\n  read only = no\n  uid = root\n  gid = root\n' "$d" "$d" >"$d/rsyncd.conf"
    bg "$NS_S" rsyncd rsync --daemon --no-detach --config="$d/rsyncd.conf" --port=873
    wait_port "$NS_S" 873
    for ((i = 0; i < 10 * BENIGN_N; i++)); do
        rm -rf "$d/pull"
        ns_c rsync -a "rsync://$SRV/share/" "$d/pull/" || true
        ns_c rsync -a "$WORK/www/index.html" "rsync://$SRV/share/up$i.html" || true
    done
}

# Long-lived TLS "messaging": openssl s_client holding a session to
# s_server, a short line every 0.3 s each way for a few seconds.
benign_msg() {
    local i
    make_pki
    for ((i = 0; i < 10 * BENIGN_N; i++)); do
        bg "$NS_S" msg-srv sh -c "for j in \$(seq 12); do echo \"server message \$j \$(date +%s%N)\"; sleep 0.3; done | \
            timeout 8 openssl s_server -quiet -accept 9443 -cert '$WORK/pki/server.crt' -key '$WORK/pki/server.key' -naccept 1"
        wait_port "$NS_S" 9443
        (for j in $(seq 12); do echo "client message $j $(date +%s%N)"; sleep 0.3; done) | \
            ns_c timeout 8 openssl s_client -quiet -connect "$SRV:9443" -CAfile "$WORK/pki/ca.crt" \
            $([ $((i % 2)) = 0 ] && echo -tls1_2) >/dev/null 2>&1 || true
        wait "$LAST_PID" 2>/dev/null || true
    done
}

# Video-like UDP: ffmpeg's test pattern as RTP to a port in gw-srv (no
# receiver needed: the packets cross the link all the same).
benign_rtp() {
    local i codecs=(mpeg4 libx264 mpeg4 libx264 mjpeg)
    for ((i = 0; i < 5 * BENIGN_N; i++)); do
        ns_c timeout 20 ffmpeg -nostdin -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=25 \
            -t 4 -c:v "${codecs[i % 5]}" -f rtp "rtp://$SRV:$((5004 + 2 * i))" >/dev/null 2>&1 || true
        ns_c timeout 20 ffmpeg -nostdin -loglevel error -re -f lavfi -i sine=frequency=440:sample_rate=8000 \
            -t 4 -c:a pcm_mulaw -f rtp "rtp://$SRV:$((6004 + 2 * i))" >/dev/null 2>&1 || true
    done
}

# benign_capture NAME FUNCTION [MAX-PACKETS]: one benign capture.
benign_capture() {
    local name=$1 fn=$2 max=${3:-0}
    net_up
    no_offload "$NS_C" gw-c
    no_offload "$NS_S" gw-s
    make_sizes
    start_nginx
    capture_start
    "$fn"
    capture_save "$name" "$max"
    net_down
}

rec_benign() {
    benign_capture benign-https benign_https
    benign_capture benign-http benign_http
    benign_capture benign-dns benign_dns
    benign_capture benign-ntp benign_ntp
    benign_capture benign-rsync benign_rsync
    benign_capture benign-msg benign_msg
    benign_capture benign-rtp benign_rtp
}

# The small sample kept in captures/recorded/: a few flows of each kind.
benign_sample_traffic() {
    local saved=$BENIGN_N
    ns_c curl -sS -o /dev/null --cacert "$WORK/pki/ca.crt" --resolve "server.gateward.test:443:$SRV" \
        --tlsv1.2 --tls-max 1.2 https://server.gateward.test/index.html
    ns_c curl -sS -o /dev/null --cacert "$WORK/pki/ca.crt" --resolve "server.gateward.test:443:$SRV" \
        --tlsv1.3 --http2 https://server.gateward.test/data.bin
    ns_c curl -sS -o /dev/null "http://$SRV/f16.bin"
    ns_c dig +short +tries=1 @"$SRV" host1.gateward.test >/dev/null || true
    benign_ntp_once
    BENIGN_N=$saved
}

benign_ntp_once() {
    local d="$WORK/chrony"
    mkdir -p "$d"
    printf 'local stratum 8\nallow all\nport 123\ncmdport 0\npidfile %s/chronyd.pid\ndriftfile %s/drift\n' "$d" "$d" >"$d/server.conf"
    bg "$NS_S" chronyd chronyd -d -x -f "$d/server.conf"
    wait_port "$NS_S" 123 10 -u
    sleep 1
    ns_c ntpdate -q -p 1 "$SRV" >/dev/null 2>&1 || true
}

rec_benign_sample() {
    net_up
    make_sizes
    start_nginx
    bg "$NS_S" dnsmasq dnsmasq -k -i gw-s --bind-interfaces --no-resolv --no-hosts \
        --address=/gateward.test/10.99.0.1 --log-facility=-
    wait_port "$NS_S" 53 10 -u
    capture_start
    benign_sample_traffic
    capture_save benign-sample 120
    net_down
}

ALL+=(benign_sample)

main "$@"
