#!/bin/sh
# CI check for a logto-deploy repository: the configuration is valid and the committed
# outputs are what it renders. Run from the directory holding logto.toml.
#
# Needs the secrets stores in .logto-secrets/ (write them from your CI's secret store
# first) and the password variables your profiles name (`password-env`), because the
# Deployment's checksum annotation covers the secrets. The secret-bearing outputs are
# git-ignored, so they are left out of the comparison.
set -eu

LOGTO_DEPLOY="${LOGTO_DEPLOY:-logto-deploy}"

"$LOGTO_DEPLOY" validate

status=0
"$LOGTO_DEPLOY" check --ignore-secret-files || status=$?
if [ "$status" -eq 3 ]; then
    echo "the committed outputs are out of date: run \`logto-deploy render --profile <name>\`" \
        "for each profile above and commit the result" >&2
fi
exit "$status"
