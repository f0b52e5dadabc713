#!/usr/bin/env bash
# Container images for the local cluster, built here without any registry and loaded into the node's containerd.
#
#   images.sh [all]      bases (cached) + the project's three images from the root Dockerfile, loaded into
#                        containerd (namespace k8s.io) when missing; prints `export SECKILL_IMAGE_*=...` lines
#                        and writes them to $SECKILL_RUN/images.env:  eval "$(npm run -s images)"
#   images.sh build      the same without loading (no containerd needed)
#   images.sh bases      only the two base images
#   images.sh refs       the three references the current sources build to (nothing built)
#   images.sh env        the lines of the last build ($SECKILL_RUN/images.env)
#   images.sh list       images in buildah's store and in containerd
#   images.sh prune      other localhost/seckill/* tags out of buildah's store and containerd (not those in use)
# Sourced (`source tools/stack/images.sh`), it only defines the settings and functions.
#
# Bases (stand-ins for what the Dockerfile pulls by default, made from debootstrap --variant=minbase and the
# pinned Node 24 of tools/node.sh; each rebuilt only when its inputs change, see _base_inputs):
#   localhost/seckill-base/node:24-slim                 node + npm + the machine's CA bundle (registries are
#                                                       reached through a TLS-inspecting proxy: NODE_EXTRA_CA_CERTS)
#   localhost/seckill-base/nodejs24-debian12:nonroot    distroless-style: /nodejs/bin/node and its libraries,
#                                                       uid 65532, no shell
# Project images: localhost/seckill/{operator,api,consumer}:<package version>-<content hash>, the hash over every
# file the build reads (Dockerfile, .dockerignore, package.json, package-lock.json, tsconfig.json, operator/,
# workloads/) and both bases' inputs. A tag containerd already has costs a hash and one `ctr images ls`.
#
# Cache ($IMAGES_CACHE, default ~/.cache/seckill/images): rootfs/ (debootstrap tar), dl/ (npm tarball),
# containers/ (buildah's own store and configs: never /var/lib/containers), archives/ (docker-archive tars,
# deleted once imported). RUN steps use the host network and reach only the npm registry.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
source "$here/../node.sh" 2>/dev/null || die "tools/node.sh could not provide Node $NODE24_VERSION"

IMAGES_ROOT="$(cd "$here/../.." && pwd)"                    # the build context: the repository
IMAGES_CACHE="${IMAGES_CACHE:-$SECKILL_CACHE/images}"
IMAGES_ENV="$SECKILL_RUN/images.env"
IMAGES_LOGS="$SECKILL_RUN/logs"
# The cluster node's containerd: the stack's (node.sh) unless told otherwise; `stack.sh env` exports both, and
# ctr reads the same variables. The pause and CoreDNS images are node.sh's own.
: "${CONTAINERD_ADDRESS:=$SECKILL_RUN/kube/containerd/containerd.sock}"
: "${CONTAINERD_NAMESPACE:=k8s.io}"
: "${DEBIAN_SUITE:=bookworm}"
: "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
# npm for the node base, pinned like Node in tools/node.sh (the registry's dist.integrity).
NPM_VERSION="11.19.1"
NPM_INTEGRITY="sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g=="

BASE_NODE_IMAGE="localhost/seckill-base/node:24-slim"
BASE_RUNTIME_IMAGE="localhost/seckill-base/nodejs24-debian12:nonroot"
PROJECT_REPO="localhost/seckill"
PROJECT_TARGETS=(operator api consumer)
INPUTS_LABEL="io.seckill.inputs"

mkdir -p "$IMAGES_CACHE"/{rootfs,dl,containers,archives} "$IMAGES_LOGS"

# buildah's private configuration: storage in the cache, no search registries, cgroupfs, host network.
_images_buildah_env() {
  local c="$IMAGES_CACHE/containers"
  cat >"$c/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$c/storage"
runroot = "$SECKILL_RUN/buildah"
EOF
  printf 'unqualified-search-registries = []\nshort-name-mode = "enforcing"\n' >"$c/registries.conf"
  printf '[containers]\nnetns = "host"\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' >"$c/containers.conf"
  export CONTAINERS_STORAGE_CONF="$c/storage.conf" CONTAINERS_REGISTRIES_CONF="$c/registries.conf" \
    CONTAINERS_CONF="$c/containers.conf" BUILDAH_ISOLATION=oci
}
_images_buildah_env

images_ctr() { ctr --address "$CONTAINERD_ADDRESS" -n "$CONTAINERD_NAMESPACE" "$@"; }
images_containerd_up() { [[ -S "$CONTAINERD_ADDRESS" ]] && images_ctr version >/dev/null 2>&1; }
# Exact-name checks (grep on a here-string: a pipe into grep -q can SIGPIPE its writer under pipefail).
images_buildah_has() { buildah inspect --type image "$1" >/dev/null 2>&1; }
images_containerd_has() { grep -qxF "$1" <<<"$(images_ctr images ls -q "name==$1" 2>/dev/null)"; }
_label() { buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$2\"}}" "$1" 2>/dev/null; }
_sha() { sha256sum | cut -c1-64; }

# -------------------------------------------------------------------------------------------------
# Inputs of the bases
# -------------------------------------------------------------------------------------------------

# images_rootfs: debootstrap --variant=minbase, kept as a tarball (numeric owners) with its sha256 beside it.
images_rootfs() {
  local tar="$IMAGES_CACHE/rootfs/$DEBIAN_SUITE-minbase.tar" dir logf="$IMAGES_LOGS/debootstrap.log" t0=$SECONDS
  if [[ ! -f "$tar" || ! -f "$tar.sha256" ]]; then
    apt_ensure debootstrap
    dir="$IMAGES_CACHE/rootfs/$DEBIAN_SUITE.tmp"
    rm -rf "$dir" && mkdir -p "$dir"
    log "debootstrap --variant=minbase $DEBIAN_SUITE (log: $logf)"
    debootstrap --variant=minbase "$DEBIAN_SUITE" "$dir" "$DEBIAN_MIRROR" >>"$logf" 2>&1 || die "debootstrap failed (log: $logf)"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log
    tar --numeric-owner -C "$dir" -cf "$tar.tmp" . && rm -rf "$dir"
    _sha <"$tar.tmp" >"$tar.sha256" && mv -f "$tar.tmp" "$tar"
    log "debootstrap done in $((SECONDS - t0))s"
  fi
  echo "$tar"
}

# images_npm_tgz: npm@NPM_VERSION from the registry once, its sha512 checked on every use.
images_npm_tgz() {
  local f="$IMAGES_CACHE/dl/npm-$NPM_VERSION.tgz" got
  if [[ ! -f "$f" ]]; then
    log "fetching npm@$NPM_VERSION from the npm registry"
    (cd "$IMAGES_CACHE/dl" && npm pack --silent "npm@$NPM_VERSION" >/dev/null) || die "npm pack npm@$NPM_VERSION failed"
  fi
  got="sha512-$(openssl dgst -sha512 -binary "$f" | base64 -w0)"
  [[ "$got" == "$NPM_INTEGRITY" ]] || { rm -f "$f"; die "npm@$NPM_VERSION integrity mismatch: got $got, want $NPM_INTEGRITY"; }
  echo "$f"
}

# _base_inputs KIND: a hash of everything base KIND is made from (rootfs, Node, npm, CA bundle, the build code).
_base_inputs() {
  local rootfs; rootfs="$(images_rootfs)"
  {
    echo "$1 $DEBIAN_SUITE $DEBIAN_MIRROR $(cat "$rootfs.sha256") node $NODE24_VERSION $NODE24_INTEGRITY"
    [[ $1 == node ]] && echo "npm $NPM_VERSION $NPM_INTEGRITY"
    _sha </etc/ssl/certs/ca-certificates.crt
    declare -f _commit_tree "_${1}_base_tree"
  } | _sha
}

# -------------------------------------------------------------------------------------------------
# Base images: one layer each (a tree committed FROM scratch, owners kept)
# -------------------------------------------------------------------------------------------------

# _commit_tree DIR IMAGE CONFIG-ARGS...
_commit_tree() {
  local dir="$1" image="$2" ctr; shift 2
  tar --numeric-owner -C "$dir" -cf "$dir.tar" .
  ctr="$(buildah from scratch)"
  buildah add "$ctr" "$dir.tar" / >/dev/null
  buildah config "$@" "$ctr"
  buildah commit --rm --quiet "$ctr" "$image" >/dev/null
  rm -f "$dir.tar"
}

# As node:24-slim where it matters: Debian + /usr/local/bin/node + npm, a `node` user 1000, the CA bundle.
_node_base_tree() {
  local dir="$1" rootfs="$2" npmtgz; npmtgz="$(images_npm_tgz)"
  tar -C "$dir" -xf "$rootfs"
  mkdir -p "$dir/usr/local/bin" "$dir/usr/local/lib/node_modules/npm" "$dir/etc/ssl/certs" "$dir/home/node"
  cp "$NODE24_HOME/bin/node" "$dir/usr/local/bin/node"
  tar -xzf "$npmtgz" -C "$dir/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/usr/local/bin/npx"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
  grep -q '^node:' "$dir/etc/group" || echo 'node:x:1000:' >>"$dir/etc/group"
  grep -q '^node:' "$dir/etc/passwd" || echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$dir/etc/passwd"
  chown 1000:1000 "$dir/home/node"
  chroot "$dir" /usr/local/bin/node --version >/dev/null || die "node does not run in the $DEBIAN_SUITE rootfs"
  BASE_CONFIG=(--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION="$NODE24_VERSION"
    --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
    --cmd '["node"]' --workingdir /)
}

# As gcr.io/distroless/nodejs24-debian12:nonroot where it matters: /nodejs/bin/node, exactly the libraries it
# links (read with the rootfs' own ldd), CA bundle, passwd/group with nonroot 65532, /tmp 1777, no shell.
_runtime_base_tree() {
  local dir="$1" rootfs="$2" src="$1.src" lib real libs
  rm -rf "$src" && mkdir -p "$src" "$dir/nodejs/bin" "$dir/usr/lib64" "$dir/etc/ssl/certs" "$dir/tmp" "$dir/home/nonroot" "$dir/root"
  tar -C "$src" -xf "$rootfs"
  cp "$NODE24_HOME/bin/node" "$dir/nodejs/bin/node"
  ln -s usr/lib "$dir/lib" && ln -s usr/lib64 "$dir/lib64"       # merged /usr, as Debian 12
  cp "$dir/nodejs/bin/node" "$src/tmp/node"
  libs="$(chroot "$src" /usr/bin/ldd /tmp/node | awk '/=>/ {print $3} /ld-linux/ && !/=>/ {print $1}' | sort -u)"
  [[ -n "$libs" ]] || die "runtime base: ldd of node in the rootfs gave nothing"
  for lib in $libs; do
    real="$(chroot "$src" readlink -f "$lib")"
    mkdir -p "$dir$(dirname "$real")" && cp -a "$src$real" "$dir$real"
    [[ -e "$dir$lib" ]] || { mkdir -p "$dir$(dirname "$lib")"; ln -s "$real" "$dir$lib"; }
  done
  [[ -e "$dir/lib64/ld-linux-x86-64.so.2" ]] || die "runtime base: dynamic loader missing"
  cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/"
  cp -L "$src/etc/os-release" "$dir/etc/os-release"
  mkdir -p "$dir/usr/share" && cp -a "$src/usr/share/zoneinfo" "$dir/usr/share/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$dir/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' >"$dir/etc/group"
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$dir/etc/nsswitch.conf"
  chmod 1777 "$dir/tmp"; chmod 700 "$dir/root" "$dir/home/nonroot"; chown 65532:65532 "$dir/home/nonroot"
  rm -rf "$src"
  [[ ! -e "$dir/bin/sh" && ! -e "$dir/usr/bin/sh" ]] || die "runtime base has a shell"
  BASE_CONFIG=(--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
    --user 65532:65532 --workingdir /home/nonroot --entrypoint '["/nodejs/bin/node"]')
}

# _build_base KIND IMAGE: rebuilt only when the image's inputs label differs from _base_inputs KIND.
_build_base() {
  local kind="$1" image="$2" inputs dir t0=$SECONDS
  inputs="$(_base_inputs "$kind")"
  [[ "$(_label "$image" "$INPUTS_LABEL")" == "$inputs" ]] && return 0
  log "building $image (its inputs changed or it is missing)"
  dir="$IMAGES_CACHE/build-$kind"
  rm -rf "$dir" "$dir.src" && mkdir -p "$dir"
  BASE_CONFIG=()
  "_${kind}_base_tree" "$dir" "$(images_rootfs)"
  _commit_tree "$dir" "$image" "${BASE_CONFIG[@]}" --os linux --arch amd64 --label "$INPUTS_LABEL=$inputs" \
    --label "org.opencontainers.image.description=seckill local $kind base: debian $DEBIAN_SUITE minbase, node $NODE24_VERSION"
  rm -rf "$dir"
  log "built $image in $((SECONDS - t0))s"
}

images_bases() { _build_base node "$BASE_NODE_IMAGE"; _build_base runtime "$BASE_RUNTIME_IMAGE"; }

# -------------------------------------------------------------------------------------------------
# The project's images
# -------------------------------------------------------------------------------------------------

# images_source_hash: every file of the build context the Dockerfile reads (.dockerignore's exclusions), by path
# and content, plus the Dockerfile itself.
images_source_hash() {
  (cd "$IMAGES_ROOT" && find Dockerfile .dockerignore package.json package-lock.json tsconfig.json operator workloads \
    -type f ! -path '*/node_modules/*' ! -name '*.md' ! -name '*.tsbuildinfo' ! -name '.env*' -print0 \
    | sort -z | xargs -0 sha256sum) | _sha
}

# images_tag: <package version>-<12 hex of the sources and both bases' inputs>.
images_tag() {
  local version hash
  version="$(sed -n 's/^  "version": "\([^"]*\)",$/\1/p' "$IMAGES_ROOT/package.json" | head -1)"
  [[ -n "$version" ]] || die "no version in $IMAGES_ROOT/package.json"
  hash="$({ images_source_hash; _base_inputs node; _base_inputs runtime; } | _sha)"
  echo "$version-${hash:0:12}"
}

images_refs() { local tag; tag="$(images_tag)"; for t in "${PROJECT_TARGETS[@]}"; do echo "$PROJECT_REPO/$t:$tag"; done; }

# _build_target TARGET REF: buildah bud of one target of the root Dockerfile, unchanged, with the local bases.
_build_target() {
  local target="$1" ref="$2" logf="$IMAGES_LOGS/image-$1.log" t0=$SECONDS
  log "buildah bud --target $target -> $ref (log: $logf)"
  printf '\n===== %s %s\n' "$ref" "$(date -Is)" >>"$logf"
  buildah bud --layers --pull=never --network host \
    --build-arg NODE_IMAGE="$BASE_NODE_IMAGE" --build-arg RUNTIME_IMAGE="$BASE_RUNTIME_IMAGE" \
    --label "org.opencontainers.image.version=${ref##*:}" --target "$target" -t "$ref" \
    -f "$IMAGES_ROOT/Dockerfile" "$IMAGES_ROOT" >>"$logf" 2>&1 || die "buildah bud --target $target failed (log: $logf)"
  log "built $ref in $((SECONDS - t0))s"
}

# images_load REF: docker-archive from buildah's store, imported into containerd (the archive is then dropped).
images_load() {
  local ref="$1" f t0=$SECONDS logf="$IMAGES_LOGS/image-import.log"
  f="$IMAGES_CACHE/archives/$(tr '/:' '__' <<<"${ref#localhost/}").tar"
  rm -f "$f"
  buildah push --quiet "$ref" "docker-archive:$f:$ref" >/dev/null 2>>"$logf" || die "buildah push $ref failed (log: $logf)"
  # A failed import (containerd stopped halfway, say) may leave the name behind without its unpacked layers:
  # drop it, so the next run imports again instead of taking the name for the image.
  images_ctr images import "$f" >>"$logf" 2>&1 \
    || { images_ctr images rm "$ref" >/dev/null 2>&1; rm -f "$f"; die "ctr images import $ref failed (log: $logf)"; }
  rm -f "$f"
  images_containerd_has "$ref" || die "$ref is not in containerd after its import (log: $logf)"
  log "loaded $ref into containerd in $((SECONDS - t0))s"
}

# images_project [--no-load]: the three images for the current sources; sets IMAGE_REFS.
images_project() {
  local load=1 refs ref target i=0; [[ "${1:-}" == --no-load ]] && load=0
  ((load == 0)) || images_containerd_up || die "containerd is not reachable at $CONTAINERD_ADDRESS (is the cluster up? CONTAINERD_ADDRESS)"
  refs="$(images_refs)"
  mapfile -t IMAGE_REFS <<<"$refs"
  for target in "${PROJECT_TARGETS[@]}"; do
    ref="${IMAGE_REFS[$i]}"; i=$((i + 1))
    if ((load)) && images_containerd_has "$ref"; then continue; fi
    images_buildah_has "$ref" || { images_bases; _build_target "$target" "$ref"; }
    ((load == 0)) || images_load "$ref"
  done
  _write_env
}

_write_env() {
  local i=0 target
  for target in "${PROJECT_TARGETS[@]}"; do
    echo "export SECKILL_IMAGE_${target^^}=${IMAGE_REFS[$i]}"; i=$((i + 1))
  done >"$IMAGES_ENV.tmp"
  mv -f "$IMAGES_ENV.tmp" "$IMAGES_ENV"
  cat "$IMAGES_ENV"
}

# images_prune: localhost/seckill/* tags other than the current ones, from buildah's store and from containerd,
# except what a container (a pod, also of another checkout) still runs.
images_prune() {
  local current img used; current="$(images_refs)"
  for img in $(buildah images --format '{{.Name}}:{{.Tag}}' | grep "^$PROJECT_REPO/" || true); do
    grep -qxF "$img" <<<"$current" || { buildah rmi "$img" >/dev/null && log "removed $img from buildah"; }
  done
  images_containerd_up || return 0
  used="$(images_ctr containers ls 2>/dev/null | awk 'NR > 1 {print $2}')"
  for img in $(images_ctr images ls -q | grep "^$PROJECT_REPO/" || true); do
    grep -qxF "$img" <<<"$current" && continue
    if grep -qxF "$img" <<<"$used"; then log "kept $img (a container runs it)"; continue; fi
    images_ctr images rm "$img" >/dev/null && log "removed $img from containerd"
  done
}

images_list() {
  echo "== buildah ($CONTAINERS_STORAGE_CONF)"; buildah images
  if images_containerd_up; then echo "== containerd $CONTAINERD_ADDRESS ($CONTAINERD_NAMESPACE)"; images_ctr images ls | awk 'NR == 1 || /localhost\//'; fi
}

# One build at a time (buildah's store is shared by every caller; the machine has two cores).
_images_locked() { exec 9>"$IMAGES_CACHE/.lock"; flock 9; "$@"; }

images_main() {
  local cmd="${1:-all}" t0=$SECONDS; shift || true
  case "$cmd" in
    all) _images_locked images_project ;;
    build) _images_locked images_project --no-load ;;
    bases) _images_locked images_bases ;;
    refs) images_refs ;;
    env) [[ -f "$IMAGES_ENV" ]] || die "no $IMAGES_ENV yet: run 'npm run images'"; cat "$IMAGES_ENV" ;;
    list) images_list ;;
    prune) _images_locked images_prune ;;
    *) die "unknown command '$cmd' (all, build, bases, refs, env, list, prune)" ;;
  esac
  case "$cmd" in all | build | bases) log "images $cmd done in $((SECONDS - t0))s" ;; esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  images_main "$@"
fi
