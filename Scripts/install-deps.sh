#!/usr/bin/env bash
# Installs the Debian packages groupsync needs to build and test, when any is missing.
# Safe to run again: it does nothing when everything is present.
set -euo pipefail

packages=(
  pkg-config      # finds libldap for the CLDAP module
  libldap2-dev    # OpenLDAP client library and headers
  libsqlite3-dev  # SQLite for the store
  slapd           # throwaway OpenLDAP servers for tests, the demo and the benchmark
  ldap-utils      # ldapadd/ldapmodify/ldapsearch used by tests and the benchmark
  openssl         # test certificates
  samba-ad-dc     # a throwaway Active Directory domain controller for the AD tests
  samba-ad-provision  # its provisioning data (samba-tool domain provision)
  systemd         # systemd-analyze verify checks the unit in Deploy/systemd
  postgresql      # throwaway PostgreSQL clusters (initdb, pg_ctl) for the PostgreSQL store tests
)
[ "${1:-}" = "--with-valgrind" ] && packages+=(valgrind)
[ "${1:-}" = "--benchmark" ] && packages+=(wrk)   # HTTP load for the API part of the benchmark

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
