# Debian package helpers shared by the setup scripts (sourced, not run). They install
# only what is missing, so a second run never touches apt. Package names are Debian 12
# (bookworm) names.

apt_log() { printf '[%s] %s\n' "${APT_LOG_TAG:-setup}" "$*" >&2; }
apt_die() { apt_log "ERROR: $*"; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    apt_die "not root and sudo is missing; run as root: $*"
  fi
}

is_installed() {
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

# apt_dir NAME: a directory or file of apt's configuration (Dir::Etc::sourceparts/d, ...), as
# apt itself resolves it, so APT_CONFIG can point every helper at another apt state.
apt_dir() {
  local value
  eval "$(apt-config shell value "$1")"
  printf '%s' "$value"
}

add_backports_source() {
  local list parts
  list=$(apt_dir Dir::Etc::sourcelist/f)
  parts=$(apt_dir Dir::Etc::sourceparts/d)
  # Only entries apt actually reads count; commented-out ones do not.
  if grep -qsE '^[^#]*bookworm-backports' "$list" "$parts"*.list "$parts"*.sources; then
    return
  fi
  local file=${parts}bookworm-backports.sources
  apt_log "adding Debian bookworm-backports as $file"
  # deb822 format, like the machine's debian.sources.
  printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' \
    'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
    as_root tee "$file" >/dev/null || apt_die "cannot write $file"
  # A new source means lists apt has not read yet, whether or not it was updated before.
  APT_UPDATED=
}

APT_UPDATED=
# apt_update: apt-get update, once per run and again after a source was added.
apt_update() {
  [[ -z $APT_UPDATED ]] || return 0
  apt_log "apt-get update"
  as_root apt-get update -qq >&2 || apt_die "apt-get update failed"
  APT_UPDATED=1
}

# apt_install NAME... : installs the packages as named; NAME/bookworm-backports pulls
# that one package from backports without upgrading anything else.
apt_install() {
  # shellcheck disable=SC1091
  [[ $(. /etc/os-release && echo "${ID:-}/${VERSION_CODENAME:-}") == debian/bookworm ]] ||
    apt_die "package names here are for Debian 12 (bookworm); install the equivalents of: $*"
  [[ " $* " != *'/bookworm-backports '* ]] || add_backports_source
  apt_update
  apt_log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends --no-upgrade "$@" >&2 || apt_die "apt-get install failed: $*"
}

# ensure_packages NAME... : apt_install the named packages that are not installed yet.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    is_installed "${pkg%%/*}" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}
