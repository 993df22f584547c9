#!/usr/bin/env bash
# publish.sh publishes what snapshot.sh built into $DIST (make
# release-publish, run by .github/workflows/release.yaml on a v* tag):
#
#   - the image index from $DIST/image to $REGISTRY/roomsync:$VERSION (crane),
#     signed by digest with cosign keyless (the workflow's OIDC identity;
#     the workflow installs cosign);
#   - the chart to oci://$REGISTRY/charts (helm push);
#   - the GitHub release $VERSION with every other file of $DIST (gh).
#
# It needs REGISTRY_USER and REGISTRY_PASSWORD for the registry, and
# GITHUB_TOKEN for gh. It publishes only what `make test-release` checked.
set -euo pipefail

: "${VERSION:?}" "${REGISTRY:?}" "${DIST:?}" "${BIN:?}" "${REGISTRY_USER:?}" "${REGISTRY_PASSWORD:?}"
export PATH=$BIN:$PATH
host=${REGISTRY%%/*}
image=$REGISTRY/roomsync:$VERSION

(cd "$DIST" && sha256sum --check --quiet checksums.txt)

echo "== the image: $image"
crane auth login "$host" -u "$REGISTRY_USER" --password-stdin <<<"$REGISTRY_PASSWORD"
crane push --index "$DIST/image" "$image"
digest=$(crane digest "$image")
cosign sign --yes "$REGISTRY/roomsync@$digest"

echo "== the chart: oci://$REGISTRY/charts/roomsync"
helm registry login "$host" -u "$REGISTRY_USER" --password-stdin <<<"$REGISTRY_PASSWORD"
helm push "$DIST/roomsync-${VERSION#v}.tgz" "oci://$REGISTRY/charts"

echo "== the GitHub release $VERSION"
files=()
while IFS= read -r f; do files+=("$DIST/$f"); done < <(cd "$DIST" && find . -maxdepth 1 -type f -printf '%P\n' | sort)
gh release create "$VERSION" --verify-tag --title "roomsync $VERSION" \
	--notes "See [CHANGELOG.md](https://github.com/roomsync/roomsync/blob/$VERSION/CHANGELOG.md). Image: \`$REGISTRY/roomsync@$digest\` (signed with cosign keyless)." \
	"${files[@]}"
