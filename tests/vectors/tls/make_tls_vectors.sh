#!/bin/sh
# Makes the certificates that tests/unit/crypto/tls_credentials_test.cpp loads, and the values it
# expects of them, with the openssl command line only (no porthop code), so the test checks
# crypto/tls_credentials against an independent computation. Run from anywhere; it rewrites the
# files beside it (new keys, so new pins and dates: the test reads them from expected.txt).
#
#   ca.pem             a P-256 CA, 36500 days (its notAfter is a GeneralizedTime, past 2049;
#                      its notBefore a UTCTime); its key is thrown away
#   leaf.key, leaf.pem a P-256 leaf signed by the CA for DNS:vector.test, 36500 days
#   chain.pem          leaf.pem then ca.pem (what a server's certificate file holds)
#   expected.txt       `name: value` lines: each certificate's SPKI pin and dates
set -eu
cd "$(dirname "$0")"
days=36500
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=porthop vector CA" -out ca.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out leaf.key
openssl req -new -key leaf.key -subj "/CN=vector.test" -out leaf.csr
printf 'subjectAltName=DNS:vector.test\nbasicConstraints=critical,CA:FALSE\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial 2 -sha256 -days "$days" \
    -extfile leaf.ext -out leaf.pem
rm -f leaf.csr leaf.ext ca.key ca.srl
cat leaf.pem ca.pem > chain.pem

# The pin: SHA-256 of the DER SubjectPublicKeyInfo, standard base64 (curl, HPKP).
pin() {
    printf 'sha256/%s' "$(openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64)"
}
# Dates in ISO 8601 ("2026-12-07 04:14:13Z"), the form Validity reports them in.
date_of() { openssl x509 -in "$2" -noout "-$1" -dateopt iso_8601 | cut -d= -f2; }
{
    echo "# Written by make_tls_vectors.sh (openssl $(openssl version | cut -d' ' -f2))."
    for c in leaf ca; do
        echo "${c}_pin: $(pin $c.pem)"
        echo "${c}_not_before: $(date_of startdate $c.pem)"
        echo "${c}_not_after: $(date_of enddate $c.pem)"
    done
} > expected.txt
