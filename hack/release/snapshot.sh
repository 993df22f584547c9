#!/usr/bin/env bash
# snapshot.sh builds a release of roomsync into $DIST without a container
# runtime and with no network but the Go module proxy (make release-snapshot):
#
#   image/                         the operator image, an OCI image layout with
#                                  linux/amd64 and linux/arm64 (ko, on a base of
#                                  CA certificates and user 65532, no shell)
#   roomsync-image_$VERSION.oci.tar  the same layout as one file
#   roomsync-$CHART_VERSION.tgz    the Helm chart, image tag and appVersion set
#   kubectl-roomsync_$VERSION_<os>_<arch>.tar.gz|.zip  the plugin (goreleaser)
#   roomsync.yaml                  the Krew manifest, with the archives' sha256
#   install.yaml, install-namespaced.yaml  config/default and the namespaced
#                                  overlay, with the image set
#   *.sbom.spdx.json               SBOMs of the image (per platform) and archives
#   checksums.txt                  sha256 of every file above
#
# Tools come from $BIN (the Makefile builds them): goreleaser, ko, syft,
# crane, helm, kustomize.
set -euo pipefail

: "${VERSION:?}" "${REGISTRY:?}" "${DIST:?}" "${BIN:?}" "${KUSTOMIZE:?}"
[[ "$VERSION" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || {
	echo "VERSION must be a tag like v1.2.3 or v1.2.3-rc.1, not $VERSION" >&2
	exit 2
}
CHART_VERSION=${VERSION#v}
IMAGE=$REGISTRY/roomsync:$VERSION
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export PATH=$BIN:$PATH
# Reproducible: file times and the image's creation time are the commit's.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
export SOURCE_DATE_EPOCH

WORK=$(mktemp -d)
REGISTRY_PID=
cleanup() {
	[[ -n "$REGISTRY_PID" ]] && kill "$REGISTRY_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "== kubectl-roomsync archives and their SBOMs (goreleaser, syft)"
# goreleaser owns $DIST (--clean empties it): it goes first.
GORELEASER_CURRENT_TAG=$VERSION goreleaser release --snapshot --clean --skip=publish
find "$DIST" -mindepth 1 -maxdepth 1 ! -name 'kubectl-roomsync_*' -exec rm -rf {} +

echo "== the operator image (ko, on a base assembled with crane)"
# ko takes its base from a registry: crane serves one on loopback for the
# time of the build, nothing is pushed anywhere else.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
crane registry serve --address "127.0.0.1:$PORT" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 50); do crane catalog "127.0.0.1:$PORT" >/dev/null 2>&1 && break; sleep 0.1; done
# The base layer: /etc/passwd and /etc/group with root and nonroot (65532),
# the CA certificates Go reads for HTTPS to Tencent, /tmp and nonroot's home.
CA_CERTIFICATES=${CA_CERTIFICATES:-/etc/ssl/certs/ca-certificates.crt} \
	python3 - "$WORK/base.tar" <<'PY'
import io, os, sys, tarfile
mtime = int(os.environ["SOURCE_DATE_EPOCH"])
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tar:
    def add(name, data=None, mode=0o755, uid=0):
        info = tarfile.TarInfo(name)
        info.mtime, info.uid, info.gid, info.mode = mtime, uid, uid, mode
        if data is None:
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    for d in ["etc", "etc/ssl", "etc/ssl/certs", "home"]:
        add(d)
    add("home/nonroot", uid=65532, mode=0o700)
    add("tmp", mode=0o1777)
    add("etc/passwd", b"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n", 0o644)
    add("etc/group", b"root:x:0:\nnonroot:x:65532:\n", 0o644)
    add("etc/ssl/certs/ca-certificates.crt", open(os.environ["CA_CERTIFICATES"], "rb").read(), 0o644)
PY
for arch in amd64 arm64; do
	crane append --oci-empty-base -f "$WORK/base.tar" -t "127.0.0.1:$PORT/base:$arch" >/dev/null
	crane mutate "127.0.0.1:$PORT/base:$arch" --set-platform "linux/$arch" --user 65532:65532 \
		--env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt -t "127.0.0.1:$PORT/base:$arch" >/dev/null
done
crane index append -m "127.0.0.1:$PORT/base:amd64" -m "127.0.0.1:$PORT/base:arm64" -t "127.0.0.1:$PORT/base:latest" >/dev/null
KO_DOCKER_REPO=$REGISTRY/roomsync KO_DEFAULTBASEIMAGE=127.0.0.1:$PORT/base:latest \
	ko build . --bare --push=false --oci-layout-path "$DIST/image" --platform linux/amd64,linux/arm64 \
	--tags "$VERSION" --sbom none --image-refs "$WORK/image-ref" >/dev/null
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
	-cf "$DIST/roomsync-image_$VERSION.oci.tar" -C "$DIST/image" .
for arch in amd64 arm64; do
	syft scan "oci-dir:$DIST/image" --platform "linux/$arch" --quiet \
		--output "spdx-json=$DIST/roomsync-image_${VERSION}_linux_$arch.sbom.spdx.json"
done

echo "== the chart (helm package)"
cp -r charts/roomsync "$WORK/chart"
sed -i "s|^  repository: .*|  repository: $REGISTRY/roomsync|" "$WORK/chart/values.yaml"
helm package "$WORK/chart" --version "$CHART_VERSION" --app-version "$VERSION" -d "$DIST" >/dev/null

echo "== the install manifests (kustomize)"
cp -r config "$WORK/config"
(cd "$WORK/config/manager" && "$KUSTOMIZE" edit set image "controller=$IMAGE")
"$KUSTOMIZE" build "$WORK/config/default" >"$DIST/install.yaml"
"$KUSTOMIZE" build "$WORK/config/overlays/namespaced" >"$DIST/install-namespaced.yaml"

echo "== the Krew manifest"
go run ./hack/release/krew -template plugins/krew/roomsync.yaml -tag "$VERSION" -dist "$DIST" >"$DIST/roomsync.yaml"

echo "== checksums.txt"
(cd "$DIST" && find . -maxdepth 1 -type f ! -name checksums.txt -printf '%P\n' | sort | xargs sha256sum >checksums.txt)
echo "Built $IMAGE and the release files into $DIST:"
ls "$DIST"
