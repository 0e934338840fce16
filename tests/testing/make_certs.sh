#!/usr/bin/env bash
# Makes a throwaway CA, a server certificate for localhost/127.0.0.1 and a
# client certificate in DIR, with openssl. For the TLS tests only.
# Usage: make_certs.sh DIR
set -euo pipefail
cd "$1"
quiet() { "$@" >/dev/null 2>&1; }
quiet openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Lantern test CA" \
  -keyout ca.key -out ca.pem
for who in server client; do
  quiet openssl req -newkey rsa:2048 -nodes -subj "/CN=lantern-$who" -keyout "$who.key" -out "$who.csr"
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=%s\n' \
    "$([[ $who == server ]] && echo serverAuth || echo clientAuth)" >"$who.ext"
  quiet openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$who.ext" -out "$who.pem"
done
# A second CA that signed nothing here: a client trusting only it must fail.
quiet openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Other CA" \
  -keyout other_ca.key -out other_ca.pem
