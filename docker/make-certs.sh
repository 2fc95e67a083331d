#!/usr/bin/env bash
# Makes what a TLS deployment of duoraft needs, with openssl, into one folder:
#   ca.crt ca.key        the cluster CA (keep ca.key offline once the leaves are made)
#   a.crt a.key, b.crt b.key
#                        one certificate per voter, SAN URI:duoraft://CLUSTER/voter/ID,
#                        for both TLS roles (the voters call each other: mutual TLS)
#   client.crt client.key
#                        a client certificate, SAN URI:duoraft://CLUSTER/client/NAME
#   token                the cluster token (64 hex characters), the other way a client may
#                        authenticate (only over TLS)
#
#   docker/make-certs.sh [--cluster NAME] [--voters a,b] [--client NAME] [--days N] DIR
#
# The defaults suit docker/docker-compose.tls.yml (cluster "compose", voters a and b):
#   docker/make-certs.sh docker/tls
#   docker compose -f docker/docker-compose.yml -f docker/docker-compose.tls.yml up -d --build
# An existing file is never overwritten (exit 1 naming it): delete the folder to start over.
set -euo pipefail

cluster=compose
voters=a,b
client=operator
days=365
usage() {
  printf 'usage: %s [--cluster NAME] [--voters ID1,ID2] [--client NAME] [--days N] DIR\n' "$(basename -- "$0")" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --cluster) [[ $# -ge 2 ]] || usage; cluster=$2; shift 2 ;;
    --voters) [[ $# -ge 2 ]] || usage; voters=$2; shift 2 ;;
    --client) [[ $# -ge 2 ]] || usage; client=$2; shift 2 ;;
    --days) [[ $# -ge 2 ]] || usage; days=$2; shift 2 ;;
    -h | --help) usage ;;
    -*) printf 'unknown option %s\n' "$1" >&2; usage ;;
    *) break ;;
  esac
done
[[ $# -eq 1 ]] || usage
dir=$1
name_re='^[A-Za-z0-9][A-Za-z0-9._-]*$'
[[ $cluster =~ $name_re ]] || { printf 'make-certs: --cluster %s: letters, digits, dot, dash and underscore only\n' "$cluster" >&2; exit 2; }
[[ $client =~ $name_re ]] || { printf 'make-certs: --client %s: letters, digits, dot, dash and underscore only\n' "$client" >&2; exit 2; }
[[ $days =~ ^[1-9][0-9]{0,4}$ ]] || { printf 'make-certs: --days %s: a whole number of days from 1 to 99999\n' "$days" >&2; exit 2; }
IFS=, read -r -a ids <<<"$voters"
[[ ${#ids[@]} -eq 2 ]] || { printf 'make-certs: --voters %s: exactly two ids\n' "$voters" >&2; exit 2; }
for id in "${ids[@]}"; do
  [[ $id =~ $name_re ]] || { printf 'make-certs: voter id %s: letters, digits, dot, dash and underscore only\n' "$id" >&2; exit 2; }
done
command -v openssl >/dev/null || { printf 'make-certs: openssl is not installed (Debian: apt-get install -y openssl)\n' >&2; exit 1; }

mkdir -p -- "$dir"
for f in ca.crt ca.key "${ids[0]}.crt" "${ids[1]}.crt" client.crt token; do
  [[ ! -e $dir/$f ]] || { printf 'make-certs: %s exists; nothing was changed (delete the folder to make new ones)\n' "$dir/$f" >&2; exit 1; }
done
umask 077
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${ec[@]}" -days "$days" -keyout "$dir/ca.key" -out "$dir/ca.crt" \
  -subj "/CN=duoraft $cluster CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null

# leaf NAME SAN-URI EXTENDED-KEY-USAGE
leaf() {
  openssl req "${ec[@]}" -keyout "$dir/$1.key" -out "$work/$1.csr" -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=URI:%s\nextendedKeyUsage=%s\nbasicConstraints=critical,CA:FALSE\n' "$2" "$3" >"$work/$1.ext"
  openssl x509 -req -in "$work/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 8)" -days "$days" -extfile "$work/$1.ext" -out "$dir/$1.crt" 2>/dev/null
}
for id in "${ids[@]}"; do leaf "$id" "duoraft://$cluster/voter/$id" serverAuth,clientAuth; done
leaf client "duoraft://$cluster/client/$client" clientAuth
openssl rand -hex 32 >"$dir/token"
# The containers run as a non-root user: the files must be readable there (the folder is
# mounted read-only as secrets); keep the folder itself private on the host.
chmod 644 "$dir"/*.crt "$dir"/*.key "$dir/token"
chmod 600 "$dir/ca.key"
chmod 700 "$dir"
printf 'made in %s: ca.crt ca.key; %s.crt/.key and %s.crt/.key (voters); client.crt/.key (client %s); token (cluster %s, valid %s days)\n' \
  "$dir" "${ids[0]}" "${ids[1]}" "$client" "$cluster" "$days"
