#!/bin/sh
# Entrypoint of the worlds/mariadb image: the data directory was initialised when the image
# was built, so a start only sets the root password (from MARIADB_ROOT_PASSWORD or
# MYSQL_ROOT_PASSWORD, the variables the official images read) and runs the server.
set -eu
pw="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"
if [ -z "$pw" ]; then
  echo "worlds-entrypoint: MARIADB_ROOT_PASSWORD is not set" >&2
  exit 1
fi
esc=$(printf '%s' "$pw" | sed -e 's/\\/\\\\/g' -e "s/'/''/g")
mkdir -p /run/mysqld
chown mysql:mysql /run/mysqld
umask 077
cat > /run/mysqld/init.sql <<SQL
ALTER USER 'root'@'localhost' IDENTIFIED BY '$esc';
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$esc';
ALTER USER 'root'@'%' IDENTIFIED BY '$esc';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
SQL
chown mysql:mysql /run/mysqld/init.sql
exec mariadbd --user=mysql --datadir=/var/lib/mysql --bind-address=0.0.0.0 \
  --init-file=/run/mysqld/init.sql "$@"
