#!/usr/bin/env bash
# Install the system packages the project needs, when missing: apt-get as root, otherwise a one-line
# message naming the package. Usage: scripts/system-deps.sh run|test
set -u
# libldap2-dev and libsasl2-dev: python-ldap (django-auth-ldap's) is built against them when installed.
want=("libdmtx0b:libdmtx.so.0" "fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
  "libldap2-dev:/usr/include/ldap.h" "libsasl2-dev:/usr/include/sasl/sasl.h")
if [ "${1:-run}" = "test" ]; then
  # slapd and ldap-utils: the LDAP login's tests start their own OpenLDAP server on a loopback port.
  want+=("chromium:/usr/bin/chromium" "poppler-utils:/usr/bin/pdftoppm" "slapd:/usr/sbin/slapd" "ldap-utils:/usr/bin/ldapadd")
fi

missing=()
for item in "${want[@]}"; do
  pkg=${item%%:*}
  probe=${item#*:}
  case "$probe" in
    /*) [ -e "$probe" ] || missing+=("$pkg") ;;
    *) ldconfig -p 2>/dev/null | grep -q "$probe" || missing+=("$pkg") ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null; } \
    || { echo "Could not install ${missing[*]} with apt-get."; exit 1; }
else
  echo "Missing system packages: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})"
  exit 1
fi
