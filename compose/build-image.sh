#!/usr/bin/env bash
# Builds the offline server image (default worlds/mariadb:10.11) from Debian's packages:
# mmdebstrap makes a minimal bookworm root with mariadb-server, the data directory is
# initialised inside it, and the result is imported into Docker. Skips when the image exists.
set -euo pipefail
image="${1:-worlds/mariadb:10.11}"
suite="${SUITE:-bookworm}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
here="$(cd "$(dirname "$0")" && pwd)"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "image $image exists; nothing to do (docker rmi $image to rebuild)"
  exit 0
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "installing mmdebstrap"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq mmdebstrap >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq mmdebstrap >/dev/null
  fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "building $image from Debian $suite packages (takes a few minutes)"
mmdebstrap --variant=apt --include=mariadb-server,ca-certificates \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='copy-in "'"$here"'/entrypoint.sh" /usr/local/bin' \
  --customize-hook='chroot "$1" sh -c "rm -rf /var/lib/mysql/* && mariadb-install-db --user=mysql --datadir=/var/lib/mysql --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve --force >/dev/null"' \
  --customize-hook='chroot "$1" sh -c "mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld && chmod 755 /usr/local/bin/entrypoint.sh"' \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
  "$suite" "$work/rootfs.tar" "$mirror" \
  "${mirror%/debian}/debian-security $suite-security main"

docker import \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]' \
  --change 'EXPOSE 3306' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'LABEL io.worlds.image=mariadb-10.11' \
  "$work/rootfs.tar" "$image" >/dev/null
echo "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
