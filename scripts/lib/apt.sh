# Debian package helpers shared by the setup scripts (sourced, not run).
# Installs only what is missing, so a second run never touches apt.

apt_log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    apt_log "ERROR: not root and sudo is missing; run as root: $*"
    return 1
  fi
}

is_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

APT_UPDATED=${APT_UPDATED:-}

# ensure_packages NAME... : apt-get install the named packages that are not installed yet.
# A NAME may carry a suite (meson/bookworm-backports); it is checked by its bare name.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    is_installed "${pkg%%/*}" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  if [[ -z $APT_UPDATED ]]; then
    apt_log "apt-get update"
    as_root apt-get update -qq >&2 || { apt_log "ERROR: apt-get update failed"; return 1; }
    APT_UPDATED=1
  fi
  apt_log "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends --no-upgrade "${missing[@]}" >&2 ||
    { apt_log "ERROR: apt-get install ${missing[*]} failed"; return 1; }
}
